#!/bin/sh
# Tests of the documentation test itself (tests/docs/doc_test.sh) on the files of
# tests/docs/fixtures/: a file whose blocks pass (output comparison, exit status, skip, file,
# excerpt, state carried between blocks) and one file per way of failing (a command that
# fails, wrong output, a wrong exit status, a block tagged bash, a broken link, a stale
# excerpt, a directive without its block); a background job a file leaves running is killed.
# usage: harness_test.sh BUILD_DIR BIN_DIR EXAMPLES_DIR
set -u
[ -w /dev/shm ] || { echo "SKIP: /dev/shm is not writable"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd -P)
FIX="$HERE/fixtures"
fails=0
out=$(mktemp "${TMPDIR:-/tmp}/tp_doc_harness.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

run() { # FILE: the harness on one fixture; sets rc
    TP_DOCTEST_KEEP=${KEEP:-0} sh "$HERE/doc_test.sh" "$FIX" "$@" > "$out" 2>&1
    rc=$?
}

expect() { # NAME RC PATTERN
    if [ "$rc" -eq "$2" ] && grep -q -- "$3" "$out"; then
        echo "ok   $1"
    else
        echo "FAIL $1: exit $rc (want $2), output without '$3':"
        sed 's/^/    /' "$out"
        fails=$((fails + 1))
    fi
}

KEEP=1 run "$1" "$2" "$3" pass.md
expect pass 0 "docs: 4 blocks run, 1 skipped, 2 outputs compared, 1 excerpts checked, 1 files written"
work=$(sed -n 's/^kept //p' "$out")
pid=$(cat "$work"/env/*/home/bgpid 2>/dev/null)
if [ -z "$pid" ]; then
    echo "FAIL background job: no pid recorded"
    fails=$((fails + 1))
elif kill -0 "$pid" 2>/dev/null; then
    echo "FAIL background job $pid still runs after the harness"
    kill "$pid"
    fails=$((fails + 1))
else
    echo "ok   background job killed"
fi
case "$work" in /dev/shm/tp-doctest-*) rm -rf "$work" ;; esac

run "$1" "$2" "$3" fail_status.md
expect fail_status 1 "FAIL fail_status.md:3: the block failed (exit status 1)"
run "$1" "$2" "$3" fail_output.md
expect fail_output 1 "expected line 1 not found (lines match in order, … = any text): value=2"
run "$1" "$2" "$3" fail_exit.md
expect fail_exit 1 "exit status 1; the doc says 2"
run "$1" "$2" "$3" fail_tag.md
expect fail_tag 1 'FAIL fail_tag.md:3: code block tagged "bash": use sh'
run "$1" "$2" "$3" fail_link.md
expect fail_link 1 "FAIL fail_link.md:3: link to no-such-file.md: no such file"
run "$1" "$2" "$3" fail_excerpt.md
expect fail_excerpt 1 "the excerpt is not (any more) in pass.md"
run "$1" "$2" "$3" fail_directive.md
expect fail_directive 1 "is not followed by a code block"
sh "$HERE/doc_test.sh" --links-only "$FIX" fail_link.md > "$out" 2>&1
rc=$?
expect links_only 1 "link to no-such-file.md: no such file"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
