#!/usr/bin/env bash
# Run the benchmarks of a build; figures are key=value lines with their floors and ratios.
set -eu
build=${1:-build}
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cpus"
"$build/bench/bench_dataplane" "${@:2}"
"$build/bench/bench_transport" "${@:2}"
"$build/bench/bench_e2e"
