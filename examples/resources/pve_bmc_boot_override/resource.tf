# Boot once from the virtual CD, now: the server restarts into the installer.
resource "pve_bmc_boot_override" "install" {
  bmc         = { endpoint = "https://10.0.0.101" }
  target      = "Cd"
  enabled     = "Once"
  mode        = "UEFI"
  reset_after = "ForceRestart"

  depends_on = [pve_bmc_virtual_media.installer]
}
