# The PVE installer in the server's virtual CD drive (the slot is found by
# the image's type: a CD/DVD slot for an .iso).
resource "pve_bmc_virtual_media" "installer" {
  bmc             = { endpoint = "https://10.0.0.101" }
  image           = "https://repo.example.com/iso/proxmox-ve_9.1-1.iso"
  write_protected = true
}
