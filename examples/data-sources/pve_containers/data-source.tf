data "pve_containers" "dns" {
  name_regex = "^dns"
}

output "dns_containers" {
  value = [for c in data.pve_containers.dns.containers : "${c.name} on ${c.node}"]
}
