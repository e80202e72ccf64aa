# <BMC endpoint>, or <BMC endpoint>#<system id> when the BMC manages several systems.
# The override the BMC reports now is imported; mode and reset_after are not read back.
terraform import pve_bmc_boot_override.install https://10.0.0.101
terraform import pve_bmc_boot_override.install 'https://10.0.0.101#System.Embedded.1'
