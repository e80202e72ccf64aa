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
