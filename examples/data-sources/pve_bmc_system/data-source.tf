data "pve_bmc_system" "node1" {
  bmc = { endpoint = "https://10.0.0.101" }
}

output "node1" {
  value = "${data.pve_bmc_system.node1.manufacturer} ${data.pve_bmc_system.node1.model} (${data.pve_bmc_system.node1.serial_number}), NICs ${join(", ", data.pve_bmc_system.node1.mac_addresses)}"
}
