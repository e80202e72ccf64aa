# Needs the ceph (librados) build and the provider's ceph {} block.
# 4 data + 2 coding chunks, one per host: any two hosts may fail.
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
