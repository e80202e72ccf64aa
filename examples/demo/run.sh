#!/usr/bin/env bash
# Runs the demo in examples/demo against the simulated lab: starts the lab,
# applies the configuration through a dev override of the freshly built
# provider, prints the outputs, destroys, and stops the lab.
#
# Called by `make demo`, which sets TOFU (the OpenTofu binary) and
# PROVIDER_DIR (the folder holding terraform-provider-pve).
set -euo pipefail

: "${TOFU:?set TOFU to the OpenTofu binary (make demo does)}"
: "${PROVIDER_DIR:?set PROVIDER_DIR to the folder of the built provider (make demo does)}"

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
lab_pid=""
cleanup() {
  if [ -n "$lab_pid" ]; then kill "$lab_pid" 2>/dev/null || true; wait "$lab_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting the lab"
(cd "$repo" && go build -o "$work/pvelab" ./internal/testlab/cmd/pvelab)
"$work/pvelab" -env-file "$work/lab.env" 2>"$work/lab.log" >/dev/null &
lab_pid=$!
for _ in $(seq 1 100); do
  [ -s "$work/lab.env" ] && break
  kill -0 "$lab_pid" 2>/dev/null || { cat "$work/lab.log" >&2; echo "the lab did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/lab.env" ] || { cat "$work/lab.log" >&2; echo "the lab did not start in time" >&2; exit 1; }
# shellcheck disable=SC1091
source "$work/lab.env"
echo "    PVE API at $PVE_ENDPOINT"

cat > "$work/tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "hcilab/pve" = "$PROVIDER_DIR"
  }
  direct {}
}
TFRC
export TF_CLI_CONFIG_FILE="$work/tfrc"
export TF_IN_AUTOMATION=1

mkdir -p "$work/demo"
cp "$here"/*.tf "$work/demo/"
cd "$work/demo"

echo "==> tofu init"
"$TOFU" init -input=false -no-color >/dev/null
echo "==> tofu apply"
"$TOFU" apply -auto-approve -input=false -no-color
echo "==> outputs"
"$TOFU" output -no-color
echo "==> tofu destroy"
"$TOFU" destroy -auto-approve -input=false -no-color
echo "==> done: the lab stops now"
