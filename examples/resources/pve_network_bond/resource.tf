# An LACP bond of two 10G NICs with jumbo frames, for guests and Ceph.
resource "pve_network_bond" "bond0" {
  node             = "pve1"
  name             = "bond0"
  slaves           = ["enp65s0f0", "enp65s0f1"]
  mode             = "802.3ad"
  xmit_hash_policy = "layer3+4"
  mtu              = 9000
  autostart        = true
  comment          = "LACP to the top-of-rack switch"
}
