terraform import pve_ha_rule.web_nodes web-nodes
