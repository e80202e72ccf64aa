terraform import pve_mapping_pci.gpu gpu
