# Needs the ceph (librados) build and the provider's ceph {} block.
provider "pve" {
  ceph {
    mon_host = "10.10.0.1,10.10.0.2,10.10.0.3"
    key      = var.ceph_admin_key
  }
}

# Copies on SSDs only, one per host.
resource "pve_ceph_crush_rule" "fast" {
  name           = "fast"
  failure_domain = "host"
  device_class   = "ssd"
}

resource "pve_ceph_pool" "fast" {
  name       = "fast-vm-disks"
  crush_rule = pve_ceph_crush_rule.fast.name
}
