# The PVE cluster backs up into the PBS datastore, in its own namespace,
# trusting the server's certificate by its fingerprint.
resource "pve_storage_pbs" "backups" {
  storage_id     = "pbs-backups"
  server         = "pbs.example.com"
  datastore      = pve_pbs_datastore.backups.name
  namespace      = pve_pbs_namespace.homelab.name
  username       = "backup@pbs!pve"
  password       = var.pbs_token_secret # write-only: sent again when password_version changes
  fingerprint    = pve_pbs_datastore.backups.fingerprint
  encryption_key = "autogen" # the key: generated_encryption_key (keep a copy)
  # Destroying this storage, replacing it or changing its key would lose the
  # generated key: refused unless allow_encryption_key_loss = true.
}
