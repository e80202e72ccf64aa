# A fresh node has no installer ISO and no container template: each node
# downloads what its guests need, checked against the checksums its mirror
# publishes. The guests take the volume IDs from here, which orders them
# after the downloads.

variable "mirrors" {
  description = <<-EOT
    Where the nodes download from, and the checksum of each file: the
    ISO's SHA-256 from the SHA256SUMS next to it, the template's SHA-512. make demo points both URLs at the lab's download
    server (PVE_LAB_FILES_URL), which lays its files out like the real
    mirrors; on real nodes use the real ones and their sums:
    debian_cd = "https://cdimage.debian.org" (serves
    /debian-cd/13.1.0/amd64/iso-cd/debian-13.1.0-amd64-netinst.iso and SHA256SUMS)
    and proxmox_images = "http://download.proxmox.com" (serves
    /images/system/debian-12-standard_12.7-1_amd64.tar.zst; its SHA-512 is in
    the nodes' template index, aplinfo.dat, behind `pveam available`).
  EOT
  type = object({
    debian_cd             = string
    proxmox_images        = string
    debian_netinst_sha256 = string
    debian_ct_sha512      = string
  })
}

resource "pve_download_file" "debian_netinst" {
  node               = local.nodes[0]
  storage            = "local"
  content            = "iso"
  url                = "${var.mirrors.debian_cd}/debian-cd/13.1.0/amd64/iso-cd/debian-13.1.0-amd64-netinst.iso"
  checksum_algorithm = "sha256"
  checksum           = var.mirrors.debian_netinst_sha256
}

resource "pve_download_file" "debian_ct" {
  node               = local.nodes[1]
  storage            = "local"
  content            = "vztmpl"
  url                = "${var.mirrors.proxmox_images}/images/system/debian-12-standard_12.7-1_amd64.tar.zst"
  checksum_algorithm = "sha512"
  checksum           = var.mirrors.debian_ct_sha512
}
