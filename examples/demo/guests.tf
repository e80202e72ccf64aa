# A VM on the first node, plugged into the new bridge, booting the Debian
# installer that node downloaded (downloads.tf). Its VM ID comes from the
# cluster.

resource "pve_vm" "debian" {
  node   = local.nodes[0]
  name   = "debian"
  tags   = ["demo"]
  cpu    = { cores = 2 }
  memory = { size = 2048 }
  cdrom  = pve_download_file.debian_netinst.id

  disks = {
    scsi0 = { storage = "local-lvm", size = 16, discard = true, ssd = true }
  }

  network = {
    net0 = { model = "virtio", bridge = pve_network_bridge.vmbr1[local.nodes[0]].name }
  }
}

# A Debian container on the second node, from the template that node
# downloaded, on the same bridge.
resource "pve_container" "debian" {
  node         = local.nodes[1]
  hostname     = "ct-debian"
  ostemplate   = pve_download_file.debian_ct.id
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
