# The ISO images on pve1's local storage.
data "pve_storage_content" "isos" {
  node    = "pve1"
  storage = "local"
  content = "iso"
}

output "isos" {
  value = [for v in data.pve_storage_content.isos.volumes : v.volid]
}
