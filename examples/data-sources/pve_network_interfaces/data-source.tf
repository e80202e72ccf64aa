data "pve_network_interfaces" "pve1_nics" {
  node = "pve1"
  type = "eth"
}

output "pve1_nics" {
  value = [for i in data.pve_network_interfaces.pve1_nics.interfaces : i.name]
}
