# <node>:<bond name>
terraform import pve_network_bond.bond0 pve1:bond0
