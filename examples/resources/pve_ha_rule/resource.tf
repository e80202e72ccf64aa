# PVE 9: the web VMs prefer pve1, then pve2; and they never share a node.
resource "pve_ha_rule" "web_nodes" {
  rule      = "web-nodes"
  type      = "node-affinity"
  resources = ["vm:100", "vm:101"]
  nodes     = { pve1 = 2, pve2 = 1 }
}

resource "pve_ha_rule" "web_apart" {
  rule      = "web-apart"
  type      = "resource-affinity"
  resources = ["vm:100", "vm:101"]
  affinity  = "negative"
}
