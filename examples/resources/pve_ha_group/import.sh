terraform import pve_ha_group.web web
