# A VM on the first node, plugged into the new bridge, booting the Debian
# installer. Its VM ID comes from the cluster.

resource "pve_vm" "debian" {
  node   = data.pve_nodes.all.names[0]
  name   = "debian"
  tags   = ["demo"]
  cores  = 2
  memory = 2048
  cdrom  = "local:iso/debian-13.1.0-amd64-netinst.iso"

  disks = {
    scsi0 = { storage = "local-lvm", size = 16, discard = true, ssd = true }
  }

  network = {
    net0 = { model = "virtio", bridge = pve_network_bridge.vmbr1[data.pve_nodes.all.names[0]].name }
  }
}
