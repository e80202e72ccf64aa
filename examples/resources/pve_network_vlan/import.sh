# <node>:<interface name>
terraform import pve_network_vlan.ceph pve1:bond0.40
