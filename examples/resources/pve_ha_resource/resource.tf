# Keep VM 100 running somewhere in the cluster.
resource "pve_ha_resource" "web" {
  sid          = "vm:100"
  state        = "started"
  max_restart  = 2
  max_relocate = 1
  comment      = "web front end"
}

# A VM managed here and by HA: HA starts and stops it (the apply waits until
# HA reports it started) and may run it on another node after a failure;
# pve_vm keeps node and started as configured and does not move it back.
resource "pve_vm" "db" {
  node    = "pve1"
  name    = "db"
  started = true # ignored while HA manages the VM: set the state below
}

resource "pve_ha_resource" "db" {
  sid   = "vm:${pve_vm.db.vmid}"
  state = "started"
}
