terraform import pve_ceph_crush_rule.fast fast
