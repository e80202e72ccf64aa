# A VLAN-aware bridge on top of the bond: both go live in one network reload
# of pve1, after the last of the two edits.
resource "pve_network_bridge" "vmbr1" {
  node       = "pve1"
  name       = "vmbr1"
  ports      = [pve_network_bond.bond0.name]
  vlan_aware = true
  vids       = ["10", "20", "100-200"]
  mtu        = 9000
  cidr       = "10.10.0.11/24"
  autostart  = true
}
