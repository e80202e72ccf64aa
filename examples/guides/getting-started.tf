terraform {
  required_version = ">= 1.11"
  required_providers {
    pve = {
      source = "hcilab/pve"
    }
  }
}

# The token comes from PVE_API_TOKEN; endpoint and fingerprint could too
# (PVE_ENDPOINT, PVE_TLS_FINGERPRINT).
provider "pve" {
  endpoint        = var.pve_endpoint
  tls_fingerprint = var.pve_tls_fingerprint
}

variable "pve_endpoint" {
  type = string
}

variable "pve_tls_fingerprint" {
  type = string
}

data "pve_version" "this" {}

data "pve_nodes" "all" {}

resource "pve_pool" "terraform" {
  pool_id = "terraform"
  comment = "Managed by Terraform"
}

output "pve" {
  value = "PVE ${data.pve_version.this.version}, nodes: ${join(", ", data.pve_nodes.all.names)}"
}
