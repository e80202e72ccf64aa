# Storage policy as code, on the Ceph cluster the nodes run (its monitors'
# address and key come from CEPH_MON_HOST, CEPH_USER and CEPH_KEY, which the
# provider's ceph {} block reads; the ceph build talks to it through
# librados). The lab's cluster has an OSD on each node: ssd on pve1 and
# pve2, hdd on pve3.

data "pve_ceph_status" "homelab" {
  depends_on = [pve_cluster.homelab]
}

# VM disks live on SSDs, one copy per host.
resource "pve_ceph_crush_rule" "ssd" {
  name           = "ssd-by-host"
  failure_domain = "host"
  device_class   = "ssd"
}

resource "pve_ceph_pool" "vm_disks" {
  name              = "vm-disks"
  crush_rule        = pve_ceph_crush_rule.ssd.name
  size              = 2 # two SSD hosts
  min_size          = 1
  pg_num            = provider::pve::pg_num(data.pve_ceph_status.homelab.osds, 2, 2)
  pg_autoscale_mode = "warn"
  application       = "rbd"
}

# Archives: erasure-coded 2+1 across the OSDs, with a quota.
resource "pve_ceph_erasure_code_profile" "ec21" {
  name           = "ec21"
  k              = 2
  m              = 1
  failure_domain = "osd"
}

resource "pve_ceph_crush_rule" "ec21" {
  name                 = "ec21"
  type                 = "erasure"
  erasure_code_profile = pve_ceph_erasure_code_profile.ec21.name
}

resource "pve_ceph_pool" "archive" {
  name                 = "archive"
  erasure_code_profile = pve_ceph_erasure_code_profile.ec21.name
  crush_rule           = pve_ceph_crush_rule.ec21.name
  allow_ec_overwrites  = true
  pg_num               = provider::pve::pg_num(data.pve_ceph_status.homelab.osds, 3, 2)
  pg_autoscale_mode    = "warn"
  application          = "rbd"
  quota_max_bytes      = 100 * 1024 * 1024 * 1024 # 100 GiB
}
