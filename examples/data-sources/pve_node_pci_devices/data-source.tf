# The GPUs of pve1, with what a pve_mapping_pci entry needs.
data "pve_node_pci_devices" "gpus" {
  node  = "pve1"
  class = "03"
}

output "gpus" {
  value = [for d in data.pve_node_pci_devices.gpus.devices : "${d.path} ${d.id} ${d.device_name} (IOMMU group ${d.iommu_group})"]
}
