resource "pve_cluster_options" "this" {
  keyboard    = "en-us"
  language    = "en"
  console     = "xtermjs"
  email_from  = "pve@example.com"
  max_workers = 4
  mac_prefix  = "BC:24:11"

  migration = { type = "insecure", network = "10.10.0.0/24" }
  ha        = { shutdown_policy = "migrate" }
  next_id   = { lower = 1000, upper = 9999 }
  bwlimit   = { migration = 512000 }
  tag_style = { shape = "dense", ordering = "alphabetical" }
}
