provider "pve" {
  # Defaults for every BMC: a rack of servers then needs only endpoints.
  bmc {
    username       = "root"
    ca_certificate = file("bmc-ca.pem")
  }
}

resource "pve_bmc_power" "node1" {
  bmc = {
    endpoint = "https://10.0.0.101"
    password = var.bmc_password
  }
  state            = "On"
  off_method       = "GracefulShutdown" # then ForceOff after graceful_timeout
  graceful_timeout = "5m"
}
