# A VM booting the Debian installer, with a system disk and a NIC on the
# guests' bridge; its VM ID is allocated from the cluster.
resource "pve_vm" "web" {
  node    = "pve1"
  name    = "web1"
  tags    = ["web", "prod"]
  cores   = 4
  memory  = 8192
  bios    = "ovmf"
  machine = "q35"
  cdrom   = "local:iso/debian-13.1.0-amd64-netinst.iso"

  scsi_controller = "virtio-scsi-single"

  disks = {
    scsi0 = { storage = "local-lvm", size = 32, discard = true, iothread = true, ssd = true }
  }

  network = {
    net0 = { model = "virtio", bridge = "vmbr1", tag = 20 }
  }

  on_boot = true

  timeouts = {
    create = "30m"
  }
}
