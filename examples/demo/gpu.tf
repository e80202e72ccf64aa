# GPU passthrough with a cluster-wide name: each node's GPU, found from its
# hardware list (the nodes without one are left out), becomes one entry of
# the "gpu" mapping; a VM that uses the mapping can run on any of them.

data "pve_node_pci_devices" "gpus" {
  for_each   = toset(local.nodes)
  node       = each.key
  class      = "0300" # VGA controllers
  depends_on = [pve_cluster.homelab]
}

resource "pve_pool" "ml" {
  pool_id = "ml"
  comment = "Machine learning guests"
}

resource "pve_mapping_pci" "gpu" {
  name        = "gpu"
  description = "The nodes' GPUs, with their audio functions"
  map = [for node, d in data.pve_node_pci_devices.gpus : {
    node         = node
    path         = trimsuffix(d.devices[0].path, ".0") # the whole device: GPU and audio share an IOMMU group
    id           = d.devices[0].id
    subsystem_id = d.devices[0].subsystem_id
    iommu_group  = d.devices[0].iommu_group
  } if length(d.devices) > 0]
}

resource "pve_vm" "ml" {
  node    = sort([for e in pve_mapping_pci.gpu.map : e.node])[0] # a node that has a GPU
  name    = "ml"
  pool    = pve_pool.ml.pool_id
  tags    = ["demo", "gpu"]
  machine = "q35"
  os_type = "l26"
  memory  = { size = 8192 }

  disks = {
    scsi0 = { storage = "local-lvm", size = 32 }
  }

  hostpci = {
    hostpci0 = { mapping = pve_mapping_pci.gpu.name, pcie = true }
  }
}
