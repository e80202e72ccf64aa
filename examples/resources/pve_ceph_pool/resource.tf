# An RBD pool for VM disks on PVE-managed Ceph: 3 replicas, I/O with 2,
# PGs for 12 OSDs shared with 3 other pools.
resource "pve_ceph_pool" "vm_disks" {
  name              = "vm-disks"
  size              = 3
  min_size          = 2
  pg_num            = provider::pve::pg_num(12, 3, 4)
  pg_autoscale_mode = "warn"
  application       = "rbd"
}

# With the provider's ceph {} block (the ceph build), through librados: an
# erasure-coded pool on its profile's rule, for RBD data, with a quota.
resource "pve_ceph_erasure_code_profile" "ec42" {
  name           = "ec42"
  k              = 4
  m              = 2
  failure_domain = "host"
  device_class   = "hdd"
}

resource "pve_ceph_crush_rule" "ec42" {
  name                 = "ec42"
  type                 = "erasure"
  erasure_code_profile = pve_ceph_erasure_code_profile.ec42.name
}

resource "pve_ceph_pool" "archive" {
  name                 = "archive-data"
  erasure_code_profile = pve_ceph_erasure_code_profile.ec42.name
  crush_rule           = pve_ceph_crush_rule.ec42.name
  allow_ec_overwrites  = true
  application          = "rbd"
  pg_autoscale_mode    = "on"
  target_size_ratio    = 0.3
  quota_max_bytes      = 50 * 1024 * 1024 * 1024 * 1024
}
