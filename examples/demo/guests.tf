# A VM on the first node, plugged into the new bridge, booting the Debian
# installer. Its VM ID comes from the cluster.

resource "pve_vm" "debian" {
  node   = local.nodes[0]
  name   = "debian"
  tags   = ["demo"]
  cpu    = { cores = 2 }
  memory = { size = 2048 }
  cdrom  = "local:iso/debian-13.1.0-amd64-netinst.iso"

  disks = {
    scsi0 = { storage = "local-lvm", size = 16, discard = true, ssd = true }
  }

  network = {
    net0 = { model = "virtio", bridge = pve_network_bridge.vmbr1[local.nodes[0]].name }
  }
}

# A Debian container on the second node, on the same bridge.
resource "pve_container" "debian" {
  node         = local.nodes[1]
  hostname     = "ct-debian"
  ostemplate   = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
  unprivileged = true
  memory       = 1024
  tags         = ["demo"]

  features = {
    nesting = true
  }

  rootfs = {
    storage = "local-lvm"
    size    = 8
  }

  network = {
    net0 = { name = "eth0", bridge = pve_network_bridge.vmbr1[local.nodes[1]].name, ip = "dhcp" }
  }
}
