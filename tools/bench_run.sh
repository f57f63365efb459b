#!/usr/bin/env bash
# Run the benchmarks of a build; figures are key=value lines with their floors and ratios.
set -eu
build=${1:-build}
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cpus"
"$build/bench/bench_dataplane" "${@:2}"
"$build/bench/bench_transport" "${@:2}"
"$build/bench/bench_e2e"
# With the Aeron transport built (issue 7): tensorpool over Aeron IPC next to Aeron's cping/cpong.
if [ -x "$build/bench/bench_aeron" ]; then "$build/bench/bench_aeron"; fi
