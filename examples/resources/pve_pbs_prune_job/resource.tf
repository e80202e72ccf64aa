# Keep the last 3 backups, 7 dailies, 4 weeklies and 12 monthlies, pruned
# every night.
resource "pve_pbs_prune_job" "backups" {
  id       = "backups-nightly"
  store    = pve_pbs_datastore.backups.name
  schedule = "daily"

  keep {
    last    = 3
    daily   = 7
    weekly  = 4
    monthly = 12
  }
}
