#!/usr/bin/env bash
# The demo under faults: applies examples/demo, plans and destroys it
# SOAK_RUNS times (default 20) against one lab that injects faults the
# whole time, and checks after every destroy, through the servers' own
# APIs (cmd/pve-inventory), that the lab holds nothing the run created.
#
# A run converges when, after at most three applies, `tofu plan
# -detailed-exitcode` says there is nothing to do. An orphan is an object
# the inventory finds after the run's destroy that it did not find before
# the run: a guest, volume, network interface or pending network change,
# storage, pool, mapping, HA resource or rule, user or ACL, PBS datastore,
# namespace or job, Ceph pool, CRUSH rule or erasure-code profile, or a
# virtual medium left in a BMC. The one thing a destroy keeps by design is
# the cluster: PVE has no API call that dissolves one (pvecm has no such
# command; pve_cluster warns so on destroy), so the cluster's lines are
# shown, not counted, and the runs after the first find it in place and
# take it over, as a re-apply on a real homelab would.
#
# One lab serves all runs, started once: faults and leftovers accumulate as
# on a real cluster (task history, HA state, an orphan of one run in the
# way of the next), and Ceph starts once instead of N times.
#
# Called by `make soak`, which sets TOFU and PROVIDER_DIR (see lab.sh).
set -euo pipefail

# shellcheck source=lab.sh
source "$(dirname "$0")/lab.sh"

runs="${SOAK_RUNS:-20}"
# The fault mix. Lock contention: 5% of the config-changing requests fail
# to get their lock the way PVE answers then ("can't lock file ... - got
# timeout"). Lost answers: 2% of the requests are carried out and their
# connection reset before the answer, so that the provider cannot tell
# them from a request that never ran (the resets of -reset-rate come
# before the request is handled). The BMCs answer 503 for 5 s after every
# power on.
faults=(-error-rate 0.05 -reset-rate 0.05 -lost-answer-rate 0.02 -lock-contention 0.05 -task-failure-rate 0.05 -latency 50ms -jitter 30ms -bmc busy=5s)
logs="${SOAK_LOG_DIR:-$(mktemp -d -t pve-soak.XXXXXX)}"
mkdir -p "$logs"

demo_lab_start "${faults[@]}"
demo_init
(cd "$repo" && go build -o "$work/pve-inventory" ./cmd/pve-inventory)
# The nodes that join the cluster get certificates the lab CA signs.
inventory() { PVE_CA_CERTIFICATE="$BMC_CA_CERTIFICATE" "$work/pve-inventory" >"$1" 2>>"$logs/inventory.log"; }

# kept: inventory lines a destroy leaves by design (see above).
kept() { grep -E '^pve [^ ]+ (cluster|cluster-member) ' || true; }
counted() { grep -vE '^pve [^ ]+ (cluster|cluster-member) ' || true; }
# errors: each error a CLI log shows, as "summary: first line of detail".
errors() {
  awk '/^Error: /{sum=substr($0, 8); st=1; next}
    st==1 && /^  with /{st=2; next}
    st==2 && /^$/{st=1; next}
    st==1 && /[^ ]/ && !/^  /{d=$0; st=3; next}
    st==3 && /[^ ]/{d=d " " $0; next}
    st==3{print sum ": " d; st=0}
    END{if (st==3) print sum ": " d}' "$@" 2>/dev/null |
    sed -E 's/UPID:[^ ]+/UPID/g; s/127\.0\.0\.1:[0-9]+/ADDR/g; s/[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){31}/FP/g' | cut -c1-200 || true
}

echo "==> soak: $runs runs of apply (at most 3), plan, destroy; faults: ${faults[*]}"
echo "    logs in $logs"
inventory "$logs/inventory-0.txt" || { echo "soak: the inventory failed (see $logs/inventory.log)" >&2; exit 1; }
echo "    the lab starts with $(wc -l <"$logs/inventory-0.txt") objects"

converged=0; orphans=0; lost=0; total_applies=0
for i in $(seq 1 "$runs"); do
  before="$logs/inventory-$((i - 1)).txt"
  after="$logs/inventory-$i.txt"
  t0=$(date +%s)
  ok=0; applies=0
  for a in 1 2 3; do
    applies=$a
    "$CLI" apply -auto-approve -input=false -no-color >"$logs/run-$i-apply-$a.log" 2>&1 || true
    rc=0
    "$CLI" plan -detailed-exitcode -input=false -no-color >"$logs/run-$i-plan-$a.log" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then ok=1; break; fi
  done
  t1=$(date +%s)
  destroys=0; destroyed=0
  for d in 1 2 3; do
    destroys=$d
    # The provider's own log of each destroy (what it sent, retried and
    # reloaded at its exit), for an orphan's cause: SOAK_DESTROY_LOG_LEVEL
    # (default DEBUG; OFF for none).
    if TF_LOG_PROVIDER="${SOAK_DESTROY_LOG_LEVEL:-DEBUG}" TF_LOG_PATH="$logs/run-$i-destroy-$d.provider.log" \
      "$CLI" destroy -auto-approve -input=false -no-color >"$logs/run-$i-destroy-$d.log" 2>&1; then destroyed=1; break; fi
  done
  t2=$(date +%s)
  inventory "$after" || { echo "soak: the inventory after run $i failed (see $logs/inventory.log)" >&2; exit 1; }
  comm -13 "$before" "$after" | counted >"$logs/run-$i-orphans.txt"
  comm -23 "$before" "$after" | counted >"$logs/run-$i-lost.txt"
  comm -13 "$before" "$after" | kept >"$logs/run-$i-kept.txt"
  o=$(wc -l <"$logs/run-$i-orphans.txt"); l=$(wc -l <"$logs/run-$i-lost.txt")
  orphans=$((orphans + o)); lost=$((lost + l)); total_applies=$((total_applies + applies))
  if [ "$ok" -eq 1 ] && [ "$destroyed" -eq 1 ]; then converged=$((converged + 1)); fi
  state="converged after $applies apply(s)"
  [ "$ok" -eq 1 ] || state="NOT converged after 3 applies"
  [ "$destroyed" -eq 1 ] || state="$state, destroy FAILED 3 times"
  errs=$(errors "$logs/run-$i"-apply-*.log "$logs/run-$i"-plan-*.log "$logs/run-$i"-destroy-*.log)
  nerr=0; [ -z "$errs" ] || nerr=$(printf '%s\n' "$errs" | wc -l)
  printf '    run %2d: %s, %d destroy(s); apply+plan %ds, destroy %ds; %d errors on the way; %d orphans, %d lost\n' \
    "$i" "$state" "$destroys" $((t1 - t0)) $((t2 - t1)) "$nerr" "$o" "$l"
  [ -z "$errs" ] || printf '%s\n' "$errs" | sort | uniq -c | sort -rn | sed 's/^/              /'
  [ "$o" -eq 0 ] || sed 's/^/      orphan: /' "$logs/run-$i-orphans.txt"
  [ "$l" -eq 0 ] || sed 's/^/      lost: /' "$logs/run-$i-lost.txt"
  [ ! -s "$logs/run-$i-kept.txt" ] || echo "      kept by design: $(awk '{print $2" "$3" "$4}' "$logs/run-$i-kept.txt" | paste -sd, -)"
done

echo "==> fault mix: ${faults[*]}"
# the value after each flag, by name
fault() { local i; for ((i = 0; i < ${#faults[@]} - 1; i++)); do [ "${faults[i]}" != "$1" ] || { echo "${faults[i + 1]}"; return; }; done; }
echo "    (596 answers $(fault -error-rate), connection resets $(fault -reset-rate), answers lost after the work $(fault -lost-answer-rate), lock timeouts $(fault -lock-contention) of config changes, failed tasks $(fault -task-failure-rate), latency $(fault -latency) +/- $(fault -jitter), BMC $(fault -bmc))"
echo "    applies: $total_applies for $runs runs"
echo "soak: $converged/$runs converged, $orphans orphans"
[ "$lost" -eq 0 ] || echo "soak: $lost objects that were there before a run are gone after it"
[ "$converged" -eq "$runs" ] && [ "$orphans" -eq 0 ] && [ "$lost" -eq 0 ]
