# A pool per team; guests join it through their own pool attribute.
resource "pve_pool" "web" {
  pool_id = "web"
  comment = "Web team"
}

resource "pve_pool" "web_staging" {
  pool_id = "${pve_pool.web.pool_id}/staging"
}
