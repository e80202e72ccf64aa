# One namespace per cluster that backs up into the datastore.
resource "pve_pbs_namespace" "homelab" {
  store = pve_pbs_datastore.backups.name
  name  = "homelab"
}
