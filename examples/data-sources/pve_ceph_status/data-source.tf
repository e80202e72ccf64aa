# Needs the ceph (librados) build and the provider's ceph {} block.
data "pve_ceph_status" "this" {}

output "ceph" {
  value = "${data.pve_ceph_status.this.health}: ${data.pve_ceph_status.this.osds_up}/${data.pve_ceph_status.this.osds} OSDs up, ${data.pve_ceph_status.this.pools} pools"
}
