#!/usr/bin/env bash
# Run every libFuzzer target of a TP_FUZZ=ON build for SECONDS each, starting from the
# committed seed corpus (copied, so new inputs do not land in the tree), and print one
# summary line per target: executions and whether it found a crash.
set -u
build=${1:-build-fuzz}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
found=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    found=$((found + 1))
    name=$(basename "$bin"); short=${name#fuzz_}
    mkdir -p "$work/$short"
    cp -r "$root/tests/fuzz/corpus/$short/." "$work/$short/" 2>/dev/null || true
    log="$work/$short.log"
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/$short-" \
        "$work/$short" >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    if [ $rc -ne 0 ]; then
        status=1
        echo "fuzz=$short execs=${execs:-?} result=FINDING (see below)"
        grep -E 'ERROR|SUMMARY|artifact' "$log" | head -20
    else
        echo "fuzz=$short execs=${execs:-?} seconds=$seconds result=clean"
    fi
done
if [ "$found" = 0 ]; then
    echo "error=no fuzz targets in $build/tests/fuzz (build them with: make fuzz)"
    exit 1
fi
exit $status
