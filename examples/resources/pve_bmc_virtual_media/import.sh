# <BMC endpoint>#<system id>#<slot> (the resource's id), or <BMC endpoint>##<slot> for the BMC's only system.
# The BMC's credentials come from the provider's bmc {} block.
terraform import pve_bmc_virtual_media.installer 'https://10.0.0.101##CD1'
terraform import pve_bmc_virtual_media.installer 'https://10.0.0.101#System.Embedded.1#CD1'
