# PVE 8: the nodes the group's HA resources may run on.
resource "pve_ha_group" "web" {
  group      = "web"
  nodes      = { pve1 = 2, pve2 = 1 }
  restricted = true
}

resource "pve_ha_resource" "web" {
  sid   = "vm:100"
  group = pve_ha_group.web.group
}
