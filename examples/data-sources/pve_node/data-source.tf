data "pve_node" "pve1" {
  name = "pve1"
}

output "pve1_cpu" {
  value = "${data.pve_node.pve1.cpu_sockets} x ${data.pve_node.pve1.cpu_cores} cores of ${data.pve_node.pve1.cpu_model}"
}
