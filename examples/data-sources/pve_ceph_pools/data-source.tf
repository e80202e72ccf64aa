# Through PVE's API of a PVE-managed Ceph cluster; with the provider's ceph {} block in the
# ceph (librados) build, straight from the monitors.
data "pve_ceph_pools" "all" {}

output "rbd_pools" {
  value = [for p in data.pve_ceph_pools.all.pools : p.name if p.application == "rbd"]
}
