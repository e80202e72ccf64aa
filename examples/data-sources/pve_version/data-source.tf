data "pve_version" "this" {}

output "pve_release" {
  value = data.pve_version.this.release
}
