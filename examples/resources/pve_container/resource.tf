resource "pve_container" "dns" {
  node            = "pve2"
  hostname        = "dns1"
  ostemplate      = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
  unprivileged    = true
  cores           = 1
  memory          = 512
  ssh_public_keys = file("~/.ssh/id_ed25519.pub")

  features = {
    nesting = true
  }

  rootfs = {
    storage = "local-lvm"
    size    = 8
  }

  mount_points = {
    mp0 = { storage = "local-lvm", size = 4, path = "/var/lib/bind", backup = true }
  }

  network = {
    net0 = { name = "eth0", bridge = "vmbr1", ip = "10.20.0.53/24", gw = "10.20.0.1", tag = 20 }
  }

  nameserver   = "10.20.0.1"
  searchdomain = "lab.example"
  on_boot      = true
}

# A copy of a container template, with a bigger root file system; what
# is not set here (memory, the template's NIC) is the template's.
resource "pve_container" "worker" {
  node     = "pve2"
  hostname = "worker1"
  pool     = "web"

  clone = {
    source_vmid = 9000
  }

  rootfs = {
    storage = "local-lvm"
    size    = 16
  }
}
