# Needs the ceph (librados) build and the provider's ceph {} block.
data "pve_ceph_pools" "all" {}

output "rbd_pools" {
  value = [for p in data.pve_ceph_pools.all.pools : p.name if p.application == "rbd"]
}
