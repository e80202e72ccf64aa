data "pve_nodes" "all" {}

output "online_nodes" {
  value = [for n in data.pve_nodes.all.nodes : n.name if n.online]
}
