# 12 OSDs, 3 replicas, 4 pools of about the same size: 100 PGs per OSD
# gives 100 PGs per pool, rounded to 128.
output "pg_num" {
  value = provider::pve::pg_num(12, 3, 4)
}
