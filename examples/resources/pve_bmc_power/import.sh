# <BMC endpoint>, or <BMC endpoint>#<system id> when the BMC manages several systems.
terraform import pve_bmc_power.node1 https://10.0.0.101
terraform import pve_bmc_power.node1 'https://10.0.0.101#System.Embedded.1'
