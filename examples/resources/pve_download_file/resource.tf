variable "debian_iso_sha256" {
  description = "SHA-256 of the ISO, from SHA256SUMS next to it on the mirror."
  type        = string
}

# The Debian netinst ISO, checked against the SHA-256 the mirror publishes.
resource "pve_download_file" "debian_iso" {
  node               = "pve1"
  storage            = "local"
  content            = "iso"
  url                = "https://cdimage.debian.org/debian-cd/13.1.0/amd64/iso-cd/debian-13.1.0-amd64-netinst.iso"
  checksum_algorithm = "sha256"
  checksum           = var.debian_iso_sha256
}

# A container template from Proxmox's image server (its SHA-512 is in the
# node's `pveam available` index, aplinfo.dat).
resource "pve_download_file" "debian_template" {
  node    = "pve1"
  storage = "local"
  content = "vztmpl"
  url     = "http://download.proxmox.com/images/system/debian-12-standard_12.7-1_amd64.tar.zst"
}

# Guests reference the volume IDs, which orders them after the downloads.
resource "pve_container" "web" {
  node       = "pve1"
  ostemplate = pve_download_file.debian_template.id
  rootfs     = { storage = "local-lvm", size = 8 }
}
