#!/usr/bin/env bash
# Runs the demo in examples/demo against the simulated lab: starts the lab,
# installs the freshly built provider with `tofu init` from a local plugin
# directory (both in lab.sh, shared with soak.sh), applies the
# configuration, prints the outputs, destroys, and stops the lab.
#
# Called by `make demo`, which sets TOFU (the OpenTofu binary) and
# PROVIDER_DIR (the folder holding terraform-provider-pve). TF_CLI, when
# set, names the CLI to run instead: OpenTofu or Terraform (make test runs
# the demo with Terraform too, TF_CLI=$(command -v terraform)).
set -euo pipefail

# shellcheck source=lab.sh
source "$(dirname "$0")/lab.sh"

demo_lab_start
demo_init
echo "==> $name apply"
"$CLI" apply -auto-approve -input=false -no-color
echo "==> $name plan (must be empty: what was applied reads back as configured)"
rc=0
"$CLI" plan -detailed-exitcode -input=false -no-color >"$work/plan.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then cat "$work/plan.log" >&2; echo "the plan after apply is not empty (exit $rc)" >&2; exit 1; fi
grep -E "^No changes" "$work/plan.log" | sed 's/^/    /'
echo "==> outputs"
"$CLI" output -no-color
echo "==> $name destroy"
"$CLI" destroy -auto-approve -input=false -no-color >"$work/destroy.log" 2>&1 || { cat "$work/destroy.log" >&2; exit 1; }
tail -n 1 "$work/destroy.log" | sed 's/^/    /'
echo "==> done: the lab stops now"
