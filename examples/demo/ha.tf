# The Debian VM is an HA resource: the cluster restarts it, or starts it
# on another node, when its node fails. It prefers its own node.

resource "pve_ha_resource" "debian" {
  sid         = "vm:${pve_vm.debian.vmid}"
  state       = "started"
  max_restart = 2
  comment     = "demo VM"
}

resource "pve_ha_rule" "debian_home" {
  rule      = "debian-home"
  type      = "node-affinity"
  resources = [pve_ha_resource.debian.sid]
  nodes     = { (local.nodes[0]) = 2, (local.nodes[1]) = 1 }
}
