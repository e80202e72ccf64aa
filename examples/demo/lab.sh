#!/usr/bin/env bash
# What the demo (run.sh) and the soak (soak.sh) share: sourced, not run.
# demo_lab_start starts the lab and exports the demo's inputs; demo_init
# installs the freshly built provider with `tofu init` (or `terraform init`) from a local plugin
# directory into a copy of the demo.
#
# Why not a dev_overrides block: OpenTofu refuses `tofu init` under one
# ("Skip tofu init when using provider development overrides"), and a
# newcomer should see the same init/apply a real user runs.
#
# The caller sets TOFU (the OpenTofu binary) and PROVIDER_DIR (the folder
# holding terraform-provider-pve), and runs under `set -euo pipefail`.
# TF_CLI, when set, names the CLI to run instead: OpenTofu or Terraform
# (make test runs the demo with Terraform too, TF_CLI=$(command -v terraform)).

CLI=${TF_CLI:-${TOFU:-}}
: "${CLI:?set TOFU (or TF_CLI) to the OpenTofu or Terraform binary (make demo does)}"
: "${PROVIDER_DIR:?set PROVIDER_DIR to the folder of the built provider (make demo does)}"
# What the CLI calls itself: tofu or terraform.
name=$(basename "$CLI")

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
lab_pid=""
cleanup() {
  if [ -n "$lab_pid" ]; then kill "$lab_pid" 2>/dev/null || true; wait "$lab_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# demo_lab_start starts `pvelab -standalone -ceph -pbs` with the extra
# pvelab flags it is given, and exports what the demo needs from it.
demo_lab_start() {
  echo "==> starting the lab"
  (cd "$repo" && go build -o "$work/pvelab" ./cmd/pvelab)
  "$work/pvelab" -standalone -ceph -pbs "$@" -env-file "$work/lab.env" -ca-file "$work/lab-ca.pem" 2>"$work/lab.log" >/dev/null &
  lab_pid=$!
  for _ in $(seq 1 300); do
    [ -s "$work/lab.env" ] && break
    kill -0 "$lab_pid" 2>/dev/null || { cat "$work/lab.log" >&2; echo "the lab did not start" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$work/lab.env" ] || { cat "$work/lab.log" >&2; echo "the lab did not start in time" >&2; exit 1; }
  # shellcheck disable=SC1091
  source "$work/lab.env"
  echo "    three standalone PVE nodes; pve1's API at $PVE_ENDPOINT; Ceph's monitor at $CEPH_MON_HOST; PBS at $PBS_ENDPOINT"
  # The cluster's inputs: each node's own API and certificate, and root's
  # password (variables, as a user would pass them).
  local nodes_json="{" node upper ep_var fp_var bmc_var
  for node in pve1 pve2 pve3; do
    upper=$(echo "$node" | tr '[:lower:]' '[:upper:]')
    ep_var="PVE_ENDPOINT_$upper"; fp_var="PVE_TLS_FINGERPRINT_$upper"
    nodes_json+="\"$node\":{\"endpoint\":\"${!ep_var}\",\"tls_fingerprint\":\"${!fp_var}\"},"
  done
  export TF_VAR_nodes="${nodes_json%,}}"
  export TF_VAR_root_password="$PVE_PASSWORD"
  # The backup server as the nodes reach it, and the password they log in
  # with.
  local pbs_hostport="${PBS_ENDPOINT#https://}"; pbs_hostport="${pbs_hostport%%/*}"
  export TF_VAR_pbs_server="{\"host\":\"${pbs_hostport%:*}\",\"port\":${pbs_hostport##*:}}"
  export TF_VAR_pbs_password="$PBS_PASSWORD"
  # The provider logs in to PBS with the lab's API token (PBS_API_TOKEN).
  unset PBS_USERNAME PBS_PASSWORD
  # The BMCs: their addresses as a variable, the credentials and the CA as
  # the provider's bmc {} defaults (BMC_USERNAME and BMC_PASSWORD come from
  # the lab's lines).
  local bmc_json="{"
  for node in pve1 pve2 pve3; do
    upper=$(echo "$node" | tr '[:lower:]' '[:upper:]')
    bmc_var="BMC_ENDPOINT_$upper"
    bmc_json+="\"$node\":\"${!bmc_var}\","
  done
  export TF_VAR_bmc_endpoints="${bmc_json%,}}"
  BMC_CA_CERTIFICATE="$(cat "$work/lab-ca.pem")"
  export BMC_CA_CERTIFICATE
  # The lab CA signs the backup server's certificate too.
  export PBS_CA_CERTIFICATE="$BMC_CA_CERTIFICATE"

  # The mirrors the nodes download the installer ISO and the container
  # template from: the lab's download server, laid out like the real ones,
  # and the checksums it publishes beside the files, as a user copies them
  # from a mirror's SHA256SUMS (SHA512SUMS for the template).
  sum_of() { curl -fsS "$PVE_LAB_FILES_URL/$1" | awk -v f="$2" '$2 == f { print $1 }'; }
  local netinst_sum ct_sum
  netinst_sum=$(sum_of debian-cd/13.1.0/amd64/iso-cd/SHA256SUMS debian-13.1.0-amd64-netinst.iso)
  ct_sum=$(sum_of images/system/SHA512SUMS debian-12-standard_12.7-1_amd64.tar.zst)
  [ -n "$netinst_sum" ] && [ -n "$ct_sum" ] || { echo "no checksums from the lab's download server at $PVE_LAB_FILES_URL" >&2; exit 1; }
  export TF_VAR_mirrors="{\"debian_cd\":\"$PVE_LAB_FILES_URL\",\"proxmox_images\":\"$PVE_LAB_FILES_URL\",\"debian_netinst_sha256\":\"$netinst_sum\",\"debian_ct_sha512\":\"$ct_sum\"}"
  echo "    downloads from the lab's mirror at $PVE_LAB_FILES_URL (the nodes' local storage starts empty)"
}

# demo_init copies the demo into $work/demo, installs the built provider
# there with `tofu init` and leaves the shell in that folder.
demo_init() {
  # The built provider, laid out as a registry release of version 0.1.0
  # (any version would do: the demo sets no constraint), under both
  # registries' hostnames: "hcilab/pve" is registry.opentofu.org/hcilab/pve
  # to OpenTofu and registry.terraform.io/hcilab/pve to Terraform.
  local platform plugins host
  platform="$(go env GOOS)_$(go env GOARCH)"
  for host in registry.opentofu.org registry.terraform.io; do
    plugins="$work/plugins/$host/hcilab/pve/0.1.0/$platform"
    mkdir -p "$plugins"
    cp "$PROVIDER_DIR/terraform-provider-pve" "$plugins/terraform-provider-pve_v0.1.0"
  done
  # An empty CLI configuration: the machine's may name a file that is missing.
  : > "$work/tfrc"
  export TF_CLI_CONFIG_FILE="$work/tfrc"
  export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
  echo "    $("$CLI" version | head -n 1) ($CLI)"

  mkdir -p "$work/demo"
  cp "$here"/*.tf "$work/demo/"
  cd "$work/demo"

  echo "==> $name init"
  "$CLI" init -input=false -no-color -plugin-dir="$work/plugins" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
  grep -E "Installed|has been successfully initialized" "$work/init.log" | sed 's/^/    /'
}
