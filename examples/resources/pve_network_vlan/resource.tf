# Ceph's cluster network on VLAN 40 of the bond.
resource "pve_network_vlan" "ceph" {
  node      = "pve1"
  name      = "bond0.40"
  cidr      = "10.40.0.11/24"
  mtu       = 9000
  autostart = true
}

# The same with a vlan<tag> name, which names its raw device.
resource "pve_network_vlan" "backup" {
  node            = "pve1"
  name            = "vlan50"
  vlan_raw_device = "bond0"
  cidr            = "10.50.0.11/24"
  autostart       = true
}
