# <node>:<bridge name>; the vmbr0 every PVE install has can be imported and managed.
terraform import pve_network_bridge.vmbr0 pve1:vmbr0
