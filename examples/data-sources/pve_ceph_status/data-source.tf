# Through PVE's API of a PVE-managed Ceph cluster; with the provider's ceph {} block in the
# ceph (librados) build, straight from the monitors.
data "pve_ceph_status" "this" {}

output "ceph" {
  value = "${data.pve_ceph_status.this.health}: ${data.pve_ceph_status.this.osds_up}/${data.pve_ceph_status.this.osds} OSDs up, ${data.pve_ceph_status.this.pools} pools"
}
