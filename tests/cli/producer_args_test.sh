#!/bin/sh
# `tensorpool producer` tensor options (DESIGN.md §5, docs/e2e.md): --size defaults to the
# extent of --dims; an explicit size must match it; a zero size is refused. Checked before any
# driver is involved: valid options get as far as attaching (no driver here: attach timeout,
# exit 1), invalid ones stop with exit 2 and one error= line.
# usage: producer_args_test.sh PATH/TO/tensorpool
set -u
TP=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp_cli_prod.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
fails=0
# run WANT_RC WANT_TEXT ARGS...: tensorpool producer against an empty directory (no driver)
run() {
    want_rc=$1 want=$2
    shift 2
    env -i PATH="${PATH:-/usr/bin:/bin}" "$TP" producer --dir "$tmp/t" --attach-timeout 0.2 \
        --count 1 "$@" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq "$want_rc" ] && grep -q "$want" "$tmp/out"; then echo "ok   $*"; else
        echo "FAIL $* -> exit $rc: $(cat "$tmp/out")"; fails=$((fails + 1)); fi
}
run 1 "error=attach timed out" --dims 4x4
run 1 "error=attach timed out" --dims 4x4 --dtype FLOAT32
run 1 "error=attach timed out" --dims 4x4 --size 16
run 1 "error=attach timed out" --size 4096
run 2 "error=invalid tensor: empty" --dims 4x4 --size 0
run 2 "error=--dims span 64 bytes but --size is 16" --dims 4x4 --dtype FLOAT32 --size 16
echo "$fails failed"
[ $fails -eq 0 ]
