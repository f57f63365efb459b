#!/bin/sh
# `tensorpool bench` (issue 6 "Tools", src/cli/cmd_bench.c): behaviour, never speed. A short run
# must start its own driver, move frames to every consumer without a torn frame, print every
# figure with its floor (key=value and --json), clean up its directory and processes, and
# refuse bad options with one error= line and exit 2.
# usage: bench_test.sh PATH/TO/tensorpool
set -u
TP=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp_cli_bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
fails=0
ok() { echo "ok   $1"; }
ko() { echo "FAIL $1"; fails=$((fails + 1)); }

# value KEY FILE: the number after KEY= (key=value output) or "KEY": (JSON)
value() { sed -n "s/.*[\" ]$1[\"]*[=:]\([0-9.]*\).*/\1/p; s/^$1=\([0-9.]*\).*/\1/p" "$2" | head -1; }
positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'; }

before=$(ls -d /dev/shm/tensorpool-bench-* /tmp/tensorpool-bench-* 2>/dev/null | wc -l)

# 1. key=value, in place, two consumers, both phases; paced so that a loaded machine still
#    lets every consumer accept frames
"$TP" bench --duration 0.4 --payload-bytes 4096 --slots 64 --consumers 2 --in-place --rate 2000 \
    >"$tmp/kv" 2>"$tmp/kv.err"
rc=$?
[ $rc -eq 0 ] && ok "bench exits 0" || { ko "bench exit $rc"; cat "$tmp/kv" "$tmp/kv.err"; }
for k in memcpy_floor_frames_per_s handoff_floor_frames_per_s read_floor_frames_per_s \
         cacheline_rtt_ns producer_frames_per_s consumer_accepted_per_s_min latency_samples latency_p50_ns \
         latency_p999_ns latency_floor_one_way_ns latency_p50_to_floor; do
    v=$(value "$k" "$tmp/kv")
    if [ -n "$v" ] && positive "$v"; then ok "$k=$v"; else ko "$k missing or zero ('$v')"; fi
done
for k in producer_to_memcpy consumer_to_handoff; do # ratios of a paced run: present
    v=$(value "$k" "$tmp/kv")
    [ -n "$v" ] && ok "$k=$v" || ko "$k missing"
done
for k in torn latency_torn; do
    v=$(value "$k" "$tmp/kv")
    [ "$v" = "0" ] && ok "$k=0" || ko "$k is '$v' (want 0)"
done
grep -q "consumers=2" "$tmp/kv" && ok "two consumers" || ko "consumers=2 not reported"

# 2. --json, copy mode, one phase: one JSON object, no key=value noise
"$TP" bench --duration 0.3 --payload-bytes 65536 --slots 8 --phase throughput --json \
    >"$tmp/js" 2>"$tmp/js.err"
rc=$?
[ $rc -eq 0 ] && ok "bench --json exits 0" || { ko "bench --json exit $rc"; cat "$tmp/js" "$tmp/js.err"; }
[ "$(wc -l <"$tmp/js")" -eq 1 ] && ok "one JSON line" || { ko "JSON output not one line"; cat "$tmp/js"; }
grep -q '^{"payload_bytes":65536,.*"consumer_accepted_per_s_min":[0-9]' "$tmp/js" &&
    ok "JSON object with figures" || ko "JSON object malformed: $(cat "$tmp/js")"
grep -q "latency_p50" "$tmp/js" && ko "latency ran with --phase throughput" || ok "phase honoured"
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/js" &&
        ok "JSON parses" || ko "JSON does not parse"
fi

# 2a. --sustained: the highest rate with <= 2 % loss, from the unpaced run when the consumer
#     kept up with it, else from paced runs
"$TP" bench --duration 0.2 --payload-bytes 65536 --slots 16 --phase throughput --sustained \
    >"$tmp/sus" 2>&1
rc=$?
v=$(value sustained_frames_per_s "$tmp/sus")
if [ $rc -eq 0 ] && [ -n "$v" ] && positive "$v" && grep -q "sustained_to_memcpy=" "$tmp/sus" &&
    grep -Eq "^# (unpaced run: loss|paced)" "$tmp/sus"; then
    ok "--sustained: sustained_frames_per_s=$v"
else
    ko "--sustained: exit $rc: $(cat "$tmp/sus")"
fi

# 2b. hermetic: driver and client overrides in the environment do not leak into the run
SHM_BASE_DIR=/nonexistent/tp DRIVER_CONTROL_STREAM_ID=7 TP_CONTROL_STREAM_ID=7 \
    CONSUMER_MODE=RATE_LIMITED TENSORPOOL_DIR=/nonexistent/tp TP_TRANSPORT=aeron \
    "$TP" bench --duration 0.2 --payload-bytes 1024 --slots 8 --phase throughput \
    >"$tmp/env" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "environment overrides ignored" || { ko "bench with overrides: exit $rc"; cat "$tmp/env"; }
grep -q "transport=embedded" "$tmp/env" && ok "TP_TRANSPORT ignored: transport=embedded" ||
    ko "transport not embedded: $(cat "$tmp/env")"

# 2c. --transport aeron: the private driver runs an embedded media driver that every process
#     uses (a build without Aeron says so and is skipped here)
"$TP" bench --duration 0.3 --payload-bytes 1024 --slots 8 --phase latency --gap-us 200 \
    --transport aeron >"$tmp/aer" 2>&1
rc=$?
if grep -q "built without Aeron" "$tmp/aer"; then
    echo "skip --transport aeron: this tensorpool is built without Aeron"
elif [ $rc -eq 0 ] && grep -q "transport=aeron" "$tmp/aer" &&
    positive "$(value latency_samples "$tmp/aer")"; then
    ok "--transport aeron: frames over Aeron"
else
    ko "--transport aeron: exit $rc: $(cat "$tmp/aer")"
fi

# 3. bad options: one error= line, exit 2, nothing started
for bad in "--payload-bytes 0" "--slots 12" "--consumers 99" "--phase nope" "--duration" \
           "--transport udp" "--frobnicate"; do
    # shellcheck disable=SC2086
    "$TP" bench $bad >"$tmp/bad" 2>/dev/null
    rc=$?
    if [ $rc -eq 2 ] && grep -q "^error=" "$tmp/bad"; then ok "refused: $bad"; else
        ko "'$bad' gave exit $rc: $(cat "$tmp/bad")"; fi
done
"$TP" bench --help >"$tmp/help" 2>&1 && grep -q "usage: tensorpool bench" "$tmp/help" &&
    ok "--help" || ko "--help"

# 4. nothing left behind
after=$(ls -d /dev/shm/tensorpool-bench-* /tmp/tensorpool-bench-* 2>/dev/null | wc -l)
[ "$after" -le "$before" ] && ok "no directory left behind" || ko "bench directories left: $after > $before"

echo "$fails failed"
[ $fails -eq 0 ]
