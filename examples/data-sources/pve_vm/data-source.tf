# The template VMs are cloned from, wherever it lives.
data "pve_vm" "template" {
  vmid = 9000
}

output "template_node" {
  value = data.pve_vm.template.node
}
