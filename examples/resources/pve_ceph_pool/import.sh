terraform import pve_ceph_pool.vm_disks vm-disks
