data "pve_vms" "prod" {
  tag = "prod"
}

output "prod_vms" {
  value = { for v in data.pve_vms.prod.vms : v.name => "${v.node}/${v.vmid} ${v.status}" }
}
