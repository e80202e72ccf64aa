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
# (PVE_ENDPOINT, PVE_API_TOKEN, PVE_TLS_FINGERPRINT).
provider "pve" {}

data "pve_version" "this" {}

data "pve_nodes" "all" {}

data "pve_node" "each" {
  for_each = toset(data.pve_nodes.all.names)
  name     = each.key
}
