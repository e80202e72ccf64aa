# Three freshly installed nodes become one cluster: created on pve1, then
# pve2 and pve3 join through their own APIs, one after the other.
variable "root_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "pve_cluster" "dc" {
  name          = "dc1"
  first_node    = "pve1"
  root_password = var.root_password # write-only: used to create and join, never stored

  nodes = {
    pve1 = { endpoint = "https://10.0.0.1:8006", link0 = "10.10.0.1" }
    pve2 = { endpoint = "https://10.0.0.2:8006", link0 = "10.10.0.2" }
    pve3 = { endpoint = "https://10.0.0.3:8006", link0 = "10.10.0.3" }
  }
}
