# A VM booting the Debian installer, with a system disk and a NIC on the
# guests' bridge; its VM ID is allocated from the cluster.
resource "pve_vm" "web" {
  node    = "pve1"
  name    = "web1"
  tags    = ["web", "prod"]
  cpu     = { cores = 4, type = "host" }
  memory  = { size = 8192, balloon = 2048 }
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
  pool    = "web"

  timeouts = {
    create = "30m"
  }
}

# A GPU guest: the GPU through a cluster-wide PCI mapping, so that the VM
# can run on any node that has one; a USB security key by vendor:product.
resource "pve_vm" "ml" {
  node    = "pve2"
  name    = "ml1"
  os_type = "l26"
  machine = "q35"
  bios    = "ovmf"
  memory  = { size = 65536 }

  efi_disk = { storage = "local-lvm" }

  disks = {
    scsi0 = { storage = "local-lvm", size = 200 }
  }

  hostpci = {
    hostpci0 = { mapping = "gpu", pcie = true, x_vga = true }
  }

  usb = {
    usb0 = { mapping = "yubikey", usb3 = true }
  }
}
