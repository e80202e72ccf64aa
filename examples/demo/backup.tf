# Backups close the loop: a datastore on the Proxmox Backup Server (the
# provider's pbs {} block reads PBS_ENDPOINT, PBS_API_TOKEN and
# PBS_TLS_FINGERPRINT), its retention as a prune job, a namespace for this
# cluster, and the cluster pointed at it, trusting the server's
# certificate by the fingerprint the datastore resource reads.

variable "pbs_server" {
  description = "Address and API port of the backup server, as the PVE nodes reach it."
  type = object({
    host = string
    port = number
  })
}

variable "pbs_password" {
  description = "Password of root@pam on the backup server, for the PVE nodes."
  type        = string
  sensitive   = true
}

resource "pve_pbs_datastore" "backups" {
  name        = "backups"
  path        = "/mnt/datastore/backups"
  comment     = "the homelab cluster's VMs and containers"
  gc_schedule = "daily"
  verify_new  = true
  # The demo destroys everything at its end, the backups' chunk store too:
  # kept (the default), it would be in the way of the next apply's datastore
  # at the same path (PBS: "unable to create chunk store ... File exists").
  destroy_data = true
}

resource "pve_pbs_namespace" "homelab" {
  store = pve_pbs_datastore.backups.name
  name  = "homelab"
}

resource "pve_pbs_prune_job" "backups" {
  id        = "homelab-nightly"
  store     = pve_pbs_datastore.backups.name
  namespace = pve_pbs_namespace.homelab.name
  schedule  = "daily"

  keep {
    last    = 3
    daily   = 7
    weekly  = 4
    monthly = 6
  }
}

resource "pve_storage_pbs" "backups" {
  storage_id     = "pbs-backups"
  server         = var.pbs_server.host
  port           = var.pbs_server.port
  datastore      = pve_pbs_datastore.backups.name
  namespace      = pve_pbs_namespace.homelab.name
  username       = "root@pam"
  password       = var.pbs_password
  fingerprint    = pve_pbs_datastore.backups.fingerprint
  encryption_key = "autogen"
  # The demo destroys everything at its end, so it accepts losing the key
  # PVE generates. On a cluster with backups you keep, leave this unset:
  # destroying the storage or replacing its key is then refused.
  allow_encryption_key_loss = true

  # storage.cfg of the cluster, once there is one
  depends_on = [pve_cluster.homelab]
}
