terraform import pve_ha_resource.web vm:100
