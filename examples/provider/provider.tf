terraform {
  required_providers {
    pve = {
      source = "hcilab/pve"
    }
  }
}

# API token (recommended). The secret comes from the environment here:
# export PVE_API_TOKEN='terraform@pve!provider=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
provider "pve" {
  endpoint        = "https://pve1.example.com:8006"
  tls_fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
}
