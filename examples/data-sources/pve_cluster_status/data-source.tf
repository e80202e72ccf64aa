data "pve_cluster_status" "this" {}

output "quorum" {
  value = "${data.pve_cluster_status.this.name}: quorate=${data.pve_cluster_status.this.quorate}, ${data.pve_cluster_status.this.expected_votes} votes, quorum ${data.pve_cluster_status.this.quorum}"
}

output "cluster_warnings" {
  value = data.pve_cluster_status.this.warnings
}
