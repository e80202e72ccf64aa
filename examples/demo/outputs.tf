output "servers" {
  description = "What each server's BMC says (make, serial, the MACs of its NICs), and the installer boot it was given."
  value = {
    for node, s in data.pve_bmc_system.server : node => {
      server = "${s.manufacturer} ${s.model}, serial ${s.serial_number}, BMC firmware ${s.bmc_firmware_version}"
      nics   = [for n in s.nics : "${n.name} ${n.mac}"]
      install = "boot ${pve_bmc_boot_override.installer[node].target} ${lower(pve_bmc_boot_override.installer[node].enabled)}, with ${pve_bmc_virtual_media.installer[node].image} in ${pve_bmc_virtual_media.installer[node].slot_id}"
    }
  }
}

output "cluster" {
  description = "The cluster: its members, quorum and what makes it fragile."
  value = {
    name           = data.pve_cluster_status.homelab.name
    quorate        = data.pve_cluster_status.homelab.quorate
    expected_votes = data.pve_cluster_status.homelab.expected_votes
    quorum         = data.pve_cluster_status.homelab.quorum
    members        = [for n in data.pve_cluster_status.homelab.nodes : "${n.name} (id ${n.node_id}, ${n.online ? "online" : "offline"})"]
    warnings       = data.pve_cluster_status.homelab.warnings
  }
}

output "pve_version" {
  description = "Version of the PVE API."
  value       = data.pve_version.this.version
}

output "nodes" {
  description = "Every node with its state, CPUs and memory."
  value = {
    for n in data.pve_nodes.all.nodes : n.name => {
      status     = n.status
      cpus       = n.cpu_count
      memory_gib = floor(n.memory_total / 1073741824)
    }
  }
}

output "node_details" {
  description = "CPU model, kernel and pve-manager version of each node."
  value = {
    for name, n in data.pve_node.each : name => {
      cpu_model   = n.cpu_model
      kernel      = n.kernel_version
      pve_manager = n.pve_version
    }
  }
}

output "bridges" {
  description = "Each node's bridges as configured: ports and MTU."
  value = {
    for node, d in data.pve_network_interfaces.bridges : node => {
      for i in d.interfaces : i.name => "ports ${join(" ", i.ports)}${i.mtu != null ? ", mtu ${i.mtu}" : ""}"
    }
  }
}

output "vm" {
  description = "The demo VM: where it runs, its ID and its NIC's MAC."
  value = {
    node    = pve_vm.debian.node
    vmid    = pve_vm.debian.vmid
    running = pve_vm.debian.started
    ha      = "${pve_ha_resource.debian.state}, prefers ${local.nodes[0]}"
    mac     = pve_vm.debian.network["net0"].mac
  }
}

output "container" {
  description = "The demo container: where it runs and its ID."
  value = {
    node    = pve_container.debian.node
    vmid    = pve_container.debian.vmid
    running = pve_container.debian.started
  }
}

output "gpu" {
  description = "The GPU mapping's nodes and the VM that uses it."
  value = {
    nodes = sort([for e in pve_mapping_pci.gpu.map : e.node])
    vm    = "${pve_vm.ml.name} (${pve_vm.ml.vmid}) on ${pve_vm.ml.node}, pool ${pve_vm.ml.pool}"
  }
}

output "ceph" {
  description = "The Ceph cluster and the pools the demo made."
  value = {
    health = data.pve_ceph_status.homelab.health
    osds   = "${data.pve_ceph_status.homelab.osds_up} up, ${data.pve_ceph_status.homelab.osds_in} in, of ${data.pve_ceph_status.homelab.osds}"
    pools = {
      for p in [pve_ceph_pool.vm_disks, pve_ceph_pool.archive] : p.name =>
      "${p.erasure_code_profile == null ? "replicated ${p.size}/${p.min_size}" : "erasure ${p.erasure_code_profile}"}, ${p.pg_num} PGs, rule ${p.crush_rule}, for ${p.application}"
    }
  }
}

output "backups" {
  description = "Where the cluster backs up to."
  value = {
    storage     = "${pve_storage_pbs.backups.storage_id}: ${pve_storage_pbs.backups.server}:${pve_storage_pbs.backups.port}, datastore ${pve_storage_pbs.backups.datastore}, namespace ${pve_storage_pbs.backups.namespace}"
    fingerprint = pve_storage_pbs.backups.fingerprint
    retention   = "last ${pve_pbs_prune_job.backups.keep.last}, ${pve_pbs_prune_job.backups.keep.daily} daily, ${pve_pbs_prune_job.backups.keep.weekly} weekly, ${pve_pbs_prune_job.backups.keep.monthly} monthly, pruned ${pve_pbs_prune_job.backups.schedule}"
    encrypted   = nonsensitive(pve_storage_pbs.backups.generated_encryption_key != null)
  }
}
