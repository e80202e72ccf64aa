# Username and password (a ticket is requested when the provider starts),
# with the CA that signed the node certificates.
provider "pve" {
  endpoint       = "https://pve1.example.com:8006"
  username       = "root@pam"
  password       = var.pve_password
  ca_certificate = file("${path.module}/pve-root-ca.pem")
}

variable "pve_password" {
  type      = string
  sensitive = true
}
