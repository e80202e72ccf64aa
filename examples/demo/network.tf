# Every node gets an LACP bond of two NICs with jumbo frames and a
# VLAN-aware bridge on top of it, for guests and Ceph. The bond and the
# bridge of a node go live together, in one network reload of that node.

resource "pve_network_bond" "bond0" {
  for_each = toset(local.nodes)

  node             = each.key
  name             = "bond0"
  slaves           = ["eno2", "eno3"]
  mode             = "802.3ad"
  xmit_hash_policy = "layer3+4"
  mtu              = 9000
  autostart        = true
  comment          = "LACP uplink"
}

resource "pve_network_bridge" "vmbr1" {
  for_each = pve_network_bond.bond0

  node       = each.key
  name       = "vmbr1"
  ports      = [each.value.name]
  vlan_aware = true
  mtu        = 9000
  autostart  = true
  comment    = "guests and Ceph"
}

# Read after the bridges, as PVE reports them: the configuration staged by
# this apply (reading never reloads a node; the reload comes at the end of
# the apply). Whether each bridge is up shows in the next refresh of the
# pve_network_bridge resources (their `active` attribute).
data "pve_network_interfaces" "bridges" {
  for_each = pve_network_bridge.vmbr1

  node       = each.key
  type       = "any_bridge"
  depends_on = [pve_network_bridge.vmbr1]
}
