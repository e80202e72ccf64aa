# The GPU of each node that has one, built from the nodes' hardware lists:
# a VM using "gpu" can run, move or fail over to any of these nodes.
data "pve_node_pci_devices" "gpus" {
  for_each  = toset(["pve1", "pve2", "pve3"])
  node      = each.key
  class     = "0300" # VGA controllers
  vendor_id = "10de" # NVIDIA
}

resource "pve_mapping_pci" "gpu" {
  name        = "gpu"
  description = "RTX 3090"
  map = [for node, d in data.pve_node_pci_devices.gpus : {
    node         = node
    path         = trimsuffix(d.devices[0].path, ".0") # the whole device: GPU and its audio function
    id           = d.devices[0].id
    subsystem_id = d.devices[0].subsystem_id
    iommu_group  = d.devices[0].iommu_group
  } if length(d.devices) > 0]
}

resource "pve_vm" "ml" {
  node    = "pve1"
  machine = "q35"
  hostpci = {
    hostpci0 = { mapping = pve_mapping_pci.gpu.name, pcie = true }
  }
}
