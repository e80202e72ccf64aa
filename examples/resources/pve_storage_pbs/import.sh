terraform import pve_storage_pbs.backups pbs-backups
