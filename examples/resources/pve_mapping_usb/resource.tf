# A licence dongle plugged into a different port on each node.
resource "pve_mapping_usb" "dongle" {
  name        = "dongle"
  description = "CodeMeter licence dongle"
  map = [
    { node = "pve1", id = "064f:2af9", path = "1-4" },
    { node = "pve2", id = "064f:2af9" }, # found by its ID, wherever it is plugged in
  ]
}
