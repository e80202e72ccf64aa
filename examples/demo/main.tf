# The homelab demo: what `make demo` applies against the simulated lab.
# It grows with the provider: later features add their resources here until
# it builds the whole hyper-converged data centre from bare metal up.

terraform {
  required_providers {
    pve = {
      source = "hcilab/pve"
    }
  }
}

# The connection settings come from the environment that the lab prints
# (PVE_ENDPOINT, PVE_API_TOKEN, PVE_TLS_FINGERPRINT): pve1's API.
provider "pve" {}

# The nodes, as installed: standalone PVE hosts, each with its own API.
variable "nodes" {
  description = "Each node's API endpoint and certificate fingerprint, by node name."
  type = map(object({
    endpoint        = string
    tls_fingerprint = string
  }))
}

variable "root_password" {
  description = "root@pam's password: PVE creates and joins clusters only for root."
  type        = string
  sensitive   = true
}

# Step one: the standalone nodes become one cluster, created on pve1 and
# joined by the others through their own APIs.
resource "pve_cluster" "homelab" {
  name          = "homelab"
  first_node    = "pve1"
  root_password = var.root_password
  allow_destroy = true # the demo tears everything down again
  nodes         = var.nodes

  # The nodes boot the installer first (baremetal.tf).
  depends_on = [pve_bmc_boot_override.installer]
}

locals {
  # Known at plan time (the keys of the configured nodes); everything
  # built per node refers to the cluster through them.
  nodes = sort(keys(pve_cluster.homelab.nodes))
}

data "pve_version" "this" {}

data "pve_nodes" "all" {
  depends_on = [pve_cluster.homelab]
}

data "pve_node" "each" {
  for_each   = toset(local.nodes)
  name       = each.key
  depends_on = [pve_cluster.homelab]
}

data "pve_cluster_status" "homelab" {
  depends_on = [pve_cluster.homelab]
}
