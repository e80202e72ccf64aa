data "pve_container" "dns" {
  vmid = 200
}

output "dns_running" {
  value = data.pve_container.dns.status == "running"
}
