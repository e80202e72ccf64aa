# A datastore on the backup server, garbage-collected nightly, new backups
# verified; retention lives in a prune job (pve_pbs_prune_job).
resource "pve_pbs_datastore" "backups" {
  name        = "backups"
  path        = "/mnt/datastore/backups"
  comment     = "VM and container backups of the homelab cluster"
  gc_schedule = "daily"
  verify_new  = true

  tuning {
    sync_level = "filesystem"
  }
}
