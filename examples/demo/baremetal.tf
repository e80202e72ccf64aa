# Step zero, bare metal: power the three servers on through their BMCs,
# put the PVE installer in each one's virtual CD drive and boot it once from
# there. (The lab's servers come back as installed PVE nodes; the cluster
# below waits until each node's API answers.)

variable "bmc_endpoints" {
  description = "Each server's BMC (Redfish) address, by node name. Credentials and CA come from the provider's bmc {} defaults (BMC_* variables)."
  type        = map(string)
}

resource "pve_bmc_power" "server" {
  for_each = var.bmc_endpoints
  bmc      = { endpoint = each.value }
  state    = "On"
}

resource "pve_bmc_virtual_media" "installer" {
  for_each        = var.bmc_endpoints
  bmc             = { endpoint = each.value }
  image           = "https://enterprise.proxmox.com/iso/proxmox-ve_9.1-1.iso"
  write_protected = true
  depends_on      = [pve_bmc_power.server]
}

resource "pve_bmc_boot_override" "installer" {
  for_each    = var.bmc_endpoints
  bmc         = { endpoint = each.value }
  target      = "Cd"
  enabled     = "Once"
  reset_after = "ForceRestart" # boot it now
  depends_on  = [pve_bmc_virtual_media.installer]
}

data "pve_bmc_system" "server" {
  for_each = var.bmc_endpoints
  bmc      = { endpoint = each.value }
}
