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
