# Keep VM 100 running somewhere in the cluster.
resource "pve_ha_resource" "web" {
  sid          = "vm:100"
  state        = "started"
  max_restart  = 2
  max_relocate = 1
  comment      = "web front end"
}
