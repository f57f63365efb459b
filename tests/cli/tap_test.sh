#!/bin/sh
# `tensorpool tap` (issue 3 "Tool", docs/transport.md): starts tap in the background on a
# private TENSORPOOL_DIR, publishes golden messages with the test-only tap_publish helper and
# checks that every block is `ts_ns=... channel=... stream=... length=...` followed by exactly
# what `tensorpool decode` prints for the same bytes (error=<reason> for a malformed one),
# then a blank line. Also: argument errors (exit 2, one error= line), --duration, --count,
# SIGTERM, SIGINT, SIGHUP (exit 0) and the lost_bytes block of a lapped tap.
# usage: tap_test.sh PATH/TO/tensorpool PATH/TO/tap_publish
set -u
TP=$1
PUB=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp_cli_tap.XXXXXX") || exit 1
tap_pid=
cleanup() {
    [ -n "$tap_pid" ] && kill -CONT "$tap_pid" 2>/dev/null && kill "$tap_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export TENSORPOOL_DIR="$tmp/transport"
fails=0

ok() { echo "ok   $1"; }
ko() { echo "FAIL $1"; fails=$((fails + 1)); }

# wait_lines FILE PATTERN N: until FILE has N lines matching PATTERN (10 s at most)
wait_lines() {
    i=0
    while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
        i=$((i + 1))
        [ $i -gt 1000 ] && return 1
        sleep 0.01
    done
    return 0
}

# ---- argument errors: exit 2, exactly one line error=<reason> on stdout -------------------
expect_usage_error() {
    name=$1
    shift
    got=$("$TP" tap "$@" 2>/dev/null)
    status=$?
    lines=$(printf '%s\n' "$got" | wc -l)
    case "$got" in
    error=*) match=1 ;;
    *) match=0 ;;
    esac
    if [ "$status" -eq 2 ] && [ "$lines" -eq 1 ] && [ "$match" -eq 1 ]; then
        ok "$name ($got)"
    else
        ko "$name: status $status, output: $got"
    fi
}
expect_usage_error test_tap_no_channel --stream 1
expect_usage_error test_tap_no_stream --channel aeron:ipc
expect_usage_error test_tap_udp_refused --channel "aeron:udp?endpoint=localhost:40123" --stream 1
expect_usage_error test_tap_bad_channel --channel "tcp://x" --stream 1
expect_usage_error test_tap_bad_stream --channel aeron:ipc --stream 12x
expect_usage_error test_tap_duplicate_stream --channel aeron:ipc --stream 1 --stream 1
expect_usage_error test_tap_bad_count --channel aeron:ipc --stream 1 --count 0
expect_usage_error test_tap_bad_duration --channel aeron:ipc --stream 1 --duration -1
expect_usage_error test_tap_missing_value --channel aeron:ipc --stream
expect_usage_error test_tap_unknown_argument --channel aeron:ipc --stream 1 --json

# ---- --duration with nothing published: no output, exit 0 --------------------------------
got=$("$TP" tap --channel aeron:ipc --stream 5 --duration 0.2 2>&1)
status=$?
if [ "$status" -eq 0 ] && [ -z "$got" ]; then ok test_tap_duration_idle
else ko "test_tap_duration_idle: status $status, output: $got"; fi

# ---- golden messages on two streams --------------------------------------------------------
FD="28 00 04 00 84 03 01 00 10 27 00 00 03 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00
00 ca 9a 3b 00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00"
PROGRESS="1d000b00 84030100 10270000 03000000 00000000 2a000000 00000000 00100000 00000000 02"
HELLO="27 00 02 00 84 03 01 00 10 27 00 00 2a 00 00 00 01 00 01 00 00 00 00 01 00 00 00 ff ff
ff ff ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
TRUNCATED="28 00 04 00 84 03 01 00 10 27 00 00 03 00 00 00" # FrameDescriptor cut at 16 bytes
UNKNOWN="08 00 01 00 39 30 01 00 00 00 00 00 00 00 00 00"     # schema 12345

out="$tmp/tap.out"
"$TP" tap --channel aeron:ipc --stream 1001 --stream 1002 --count 5 >"$out" 2>"$tmp/tap.err" &
tap_pid=$!
# block STREAM HEX: what tap must print for HEX on STREAM (ts_ns masked)
expected="$tmp/expected"
: >"$expected"
n=0
publish() {
    stream=$1 hex=$2
    if ! "$PUB" "$TENSORPOOL_DIR" aeron:ipc "$stream" "$hex" >/dev/null 2>"$tmp/pub.err"; then
        ko "publish on $stream: $(cat "$tmp/pub.err")"
    fi
    n=$((n + 1))
    wait_lines "$out" '^ts_ns=' $n || ko "tap printed no block for message $n"
    len=$(printf '%s' "$hex" | tr -cd '0-9a-fA-F' | wc -c)
    {
        echo "ts_ns=T channel=aeron:ipc stream=$stream length=$((len / 2))"
        "$TP" decode "$hex" 2>/dev/null
        echo
    } >>"$expected"
}
publish 1001 "$FD"
publish 1002 "$PROGRESS"
publish 1001 "$TRUNCATED"
publish 1002 "$UNKNOWN"
publish 1001 "$HELLO"
wait "$tap_pid"
status=$?
tap_pid=
if [ "$status" -eq 0 ]; then ok "test_tap_count_exit_0"
else ko "test_tap_count_exit_0: status $status ($(cat "$tmp/tap.err"))"; fi
sed 's/^ts_ns=[0-9][0-9]* /ts_ns=T /' "$out" >"$tmp/masked"
if cmp -s "$tmp/masked" "$expected"; then ok "test_tap_blocks_match_decode"
else
    ko "test_tap_blocks_match_decode"
    diff "$expected" "$tmp/masked"
fi
# Independent of decode: the first block, literally (LAYOUT §6 FrameDescriptor).
want_fd="ts_ns=T channel=aeron:ipc stream=1001 length=48
schema=900 template=4 name=FrameDescriptor version=1 block_length=40
streamId=10000
epoch=3
seq=42
timestampNs=1000000000
metaVersion=7
traceId=null"
if [ "$(head -n 8 "$tmp/masked")" = "$want_fd" ] && [ -z "$(sed -n 9p "$tmp/masked")" ]; then
    ok test_tap_frame_descriptor_block
else ko "test_tap_frame_descriptor_block: $(head -n 9 "$tmp/masked")"; fi
# Malformed messages print error=<reason> in their block and tap carries on.
if [ "$(grep -c '^error=' "$tmp/masked")" -eq 2 ] && grep -q '^name=ConsumerHello\|name=ConsumerHello' "$tmp/masked"; then
    ok test_tap_malformed_continues
else ko test_tap_malformed_continues; fi
# Monotonic timestamps, non-decreasing.
if grep '^ts_ns=' "$out" | sed 's/^ts_ns=\([0-9]*\) .*/\1/' | sort -n -c 2>/dev/null; then
    ok test_tap_ts_monotonic
else ko test_tap_ts_monotonic; fi

# ---- SIGTERM, SIGINT and SIGHUP end tap with exit 0 -------------------------------------------
for sig in TERM INT HUP; do
    "$TP" tap --channel aeron:ipc --stream 1003 >"$tmp/sig.out" 2>&1 &
    tap_pid=$!
    "$PUB" "$TENSORPOOL_DIR" aeron:ipc 1003 "$FD" >/dev/null 2>&1
    wait_lines "$tmp/sig.out" '^ts_ns=' 1
    kill -s $sig "$tap_pid"
    wait "$tap_pid"
    status=$?
    tap_pid=
    if [ "$status" -eq 0 ] && [ "$(grep -c '^ts_ns=' "$tmp/sig.out")" -eq 1 ]; then
        ok "test_tap_sig$sig"
    else ko "test_tap_sig$sig: status $status: $(cat "$tmp/sig.out")"; fi
done

# ---- --dir overrides TENSORPOOL_DIR ------------------------------------------------------------
"$TP" tap --channel aeron:ipc --stream 1004 --count 1 --dir "$tmp/other" >"$tmp/dir.out" 2>&1 &
tap_pid=$!
"$PUB" "$tmp/other" aeron:ipc 1004 "$PROGRESS" >/dev/null 2>&1
wait "$tap_pid"
status=$?
tap_pid=
if [ "$status" -eq 0 ] && grep -q '^state=PROGRESS$' "$tmp/dir.out" && [ -e "$tmp/other/ipc-1004.log" ]; then
    ok test_tap_dir_option
else ko "test_tap_dir_option: status $status: $(cat "$tmp/dir.out")"; fi

# ---- a stalled tap is evicted, lapped, and says how much it lost -------------------------------
# 64 KiB log. tap reads a ConsumerHello (96-byte record: tap is at position 96), is stopped
# (SIGSTOP), and 2048 FrameDescriptors (64-byte records) are offered: 1023 fit (the last 32
# bytes before the wrap become padding), then the publisher is back-pressured until the tap's
# heartbeat is older than the liveness timeout (5 s), evicts it and skips the other 1025
# (nobody listening). On SIGCONT tap prints lost_bytes=65504 (1023 * 64 + 32) and carries on
# at the tail.
CH="aeron:ipc?term-length=64k"
"$TP" tap --channel "$CH" --stream 1005 --duration 60 >"$tmp/lap.out" 2>&1 &
tap_pid=$!
"$PUB" "$TENSORPOOL_DIR" "$CH" 1005 "$HELLO" >/dev/null 2>&1
wait_lines "$tmp/lap.out" '^ts_ns=' 1
kill -STOP "$tap_pid"
flood=$("$PUB" "$TENSORPOOL_DIR" "$CH" 1005 --flood 2048 "$FD" 2>&1)
kill -CONT "$tap_pid"
wait_lines "$tmp/lap.out" '^lost_bytes=' 1
"$PUB" "$TENSORPOOL_DIR" "$CH" 1005 "$PROGRESS" >/dev/null 2>&1
wait_lines "$tmp/lap.out" '^ts_ns=' 2
kill "$tap_pid"
wait "$tap_pid"
status=$?
tap_pid=
if [ "$status" -eq 0 ] && [ "$flood" = "offered=1023 skipped=1025" ] &&
    grep -q '^lost_bytes=65504 stream=1005 lapped_count=1$' "$tmp/lap.out" &&
    [ "$(grep -c '^ts_ns=' "$tmp/lap.out")" -eq 2 ] && grep -q '^state=PROGRESS$' "$tmp/lap.out"; then
    ok test_tap_lapped_lost_bytes
else
    ko "test_tap_lapped_lost_bytes: status $status, publisher: $flood"
    cat "$tmp/lap.out"
fi

[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failed"
[ "$fails" -eq 0 ]
