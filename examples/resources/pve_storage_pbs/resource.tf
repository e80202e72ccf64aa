# The PVE cluster backs up into the PBS datastore, in its own namespace,
# trusting the server's certificate by its fingerprint.
resource "pve_storage_pbs" "backups" {
  storage_id     = "pbs-backups"
  server         = "pbs.example.com"
  datastore      = pve_pbs_datastore.backups.name
  namespace      = pve_pbs_namespace.homelab.name
  username       = "backup@pbs!pve"
  password       = var.pbs_token_secret
  fingerprint    = pve_pbs_datastore.backups.fingerprint
  encryption_key = "autogen" # the key: generated_encryption_key (keep a copy)
}
