#!/bin/sh
# test_aeron_tap_golden (issue 7 "Mixed"): a real `tensorpool driver` on the Aeron transport
# (driver.transport = "aeron", driver.launch_media_driver = true, driver.aeron_dir in the TOML),
# a real producer holding stream 10000, and `tensorpool tap --transport aeron` on the Aeron
# control and announce streams. A second producer's attach request for stream 10000 is published
# with the test-only tap_publish helper over Aeron: it is LAYOUT §6's ShmAttachRequest vector
# (correlationId 0x0000002A00000001, client 42) with role PRODUCER. The driver must answer with
# exactly the bytes of LAYOUT §6's ShmAttachResponse (rejection) vector ("producer already
# attached", every optional field null): tap's block for it has length=99 and exactly the lines
# `tensorpool decode` prints for the golden hex. The request's block decodes as the golden
# request does, and the driver's ShmPoolAnnounce and ShmDriverShutdown blocks decode cleanly.
# usage: tap_golden_test.sh PATH/TO/tensorpool PATH/TO/tap_publish AERON_BUILT(TRUE|FALSE)
#                           PATH/TO/tests/codec/vectors.h
set -u
TP=$1
PUB=$2
VECTORS=$4
if [ "$3" != "TRUE" ] && [ "$3" != "ON" ] && [ "$3" != "1" ]; then
    echo "skip: tensorpool was built without Aeron (TP_WITH_AERON=OFF or Aeron not found; docs/aeron.md)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp_aeron_tap.XXXXXX") || exit 1
AERON=/dev/shm/tp-aeron-tap-$$
pids=
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done # gone before their files are removed
    rm -rf "$tmp" "$AERON"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export TENSORPOOL_DIR="$tmp/transport"
mkdir -p "$tmp/shm" "$TENSORPOOL_DIR"
fails=0
ok() { echo "ok   $1"; }
ko() { echo "FAIL $1"; fails=$((fails + 1)); }

# wait_for FILE PATTERN [N]: until FILE has N (default 1) lines matching PATTERN (20 s at most)
wait_for() {
    i=0
    # (grep prints nothing while a background job has not created its output file yet)
    while n=$(grep -c "$2" "$1" 2>/dev/null); [ "${n:-0}" -lt "${3:-1}" ]; do
        i=$((i + 1))
        [ $i -gt 2000 ] && return 1
        sleep 0.01
    done
}

# LAYOUT §6, as tests/codec/vectors.h has it: VEC_SHM_ATTACH_REQUEST with role (byte 24) =
# PRODUCER, and VEC_SHM_ATTACH_RESPONSE_REJECTED.
vector() { # NAME: the hex of a macro of vectors.h
    awk -v name="$1" '$1 == "#define" && $2 == name { on = 1; next }
        on { line = $0; while (match(line, /"[^"]*"/)) { printf "%s ", substr(line, RSTART + 1, RLENGTH - 2); line = substr(line, RSTART + RLENGTH) }
             if ($0 !~ /\\$/) exit }' "$VECTORS"
}
REQUEST=$(vector VEC_SHM_ATTACH_REQUEST | awk '{ $25 = "01"; print }')
REJECTED=$(vector VEC_SHM_ATTACH_RESPONSE_REJECTED)
[ "$(printf '%s' "$REQUEST" | wc -w)" -eq 35 ] && [ "$(printf '%s' "$REJECTED" | wc -w)" -eq 99 ] ||
    { echo "cannot read the vectors from $VECTORS"; exit 1; }

cat >"$tmp/driver.toml" <<EOF
[driver]
instance_id = "tap-golden"
transport = "aeron"
launch_media_driver = true
aeron_dir = "$AERON"
control_channel = "aeron:ipc"
control_stream_id = 16000
announce_channel = "aeron:ipc"
announce_stream_id = 16001
qos_channel = "aeron:ipc"
qos_stream_id = 16002

[shm]
base_dir = "$tmp/shm"
permissions_mode = "600"

[policies]
announce_period_ms = 200
shutdown_timeout_ms = 100

[profiles.small]
header_nslots = 8
payload_pools = [ { pool_id = 1, stride_bytes = 4096 } ]

[streams.s]
stream_id = 10000
profile = "small"
EOF

TP_LOG_LEVEL=info "$TP" driver "$tmp/driver.toml" >"$tmp/driver.out" 2>&1 &
driver=$!
pids="$driver"
# 'driver: started', not 'started': the embedded media driver's own line ("embedded media driver
# started") comes first and would let the check run before the driver's line is written.
if wait_for "$tmp/driver.out" 'driver: started' && grep -q 'transport=aeron' "$tmp/driver.out" &&
    grep -q 'embedded media driver started' "$tmp/driver.out"; then
    ok test_aeron_tap_driver_started_with_embedded_media_driver
else
    ko test_aeron_tap_driver_started_with_embedded_media_driver
    cat "$tmp/driver.out"
    exit 1
fi

"$TP" tap --transport aeron --aeron-dir "$AERON" --channel aeron:ipc --stream 16000 \
    --stream 16001 >"$tmp/tap.out" 2>"$tmp/tap.err" &
tap=$!
pids="$pids $tap"
"$TP" producer --transport aeron --aeron-dir "$AERON" --allowed-dir "$tmp/shm" \
    --control-stream 16000 --announce-stream 16001 --stream 10000 --client-id 7 --size 1024 \
    --rate 100 --duration 60 >"$tmp/producer.out" 2>&1 &
pids="$pids $!"
wait_for "$tmp/producer.out" 'attached role=producer' || { ko "producer did not attach"; cat "$tmp/producer.out"; }
# the tap is connected once it has seen the producer's own attach exchange
wait_for "$tmp/tap.out" ' name=ShmAttachResponse ' || ko "tap saw no ShmAttachResponse"
if ! TP_TRANSPORT=aeron AERON_DIR="$AERON" "$PUB" "$TENSORPOOL_DIR" aeron:ipc 16000 "$REQUEST" \
    >/dev/null 2>"$tmp/pub.err"; then
    ko "publish the request: $(cat "$tmp/pub.err")"
fi
wait_for "$tmp/tap.out" '^correlationId=180388626433$' 2 ||
    ko "no request/response with correlationId 0x2A00000001 on the tap"
wait_for "$tmp/tap.out" ' name=ShmPoolAnnounce ' || ko "tap saw no ShmPoolAnnounce"
kill -TERM "$driver"
wait "$driver"
dstatus=$?
wait_for "$tmp/tap.out" ' name=ShmDriverShutdown ' || ko "tap saw no ShmDriverShutdown"
kill -TERM "$tap"
wait "$tap"
tstatus=$?
[ "$dstatus" -eq 0 ] && [ "$tstatus" -eq 0 ] && ok test_aeron_tap_driver_and_tap_exit_0 ||
    ko "test_aeron_tap_driver_and_tap_exit_0: driver $dstatus, tap $tstatus ($(cat "$tmp/tap.err"))"

# Blocks (ts_ns line, decode lines, blank line) as separate files.
awk -v dir="$tmp" '/^ts_ns=/ { n++; f = dir "/block." n } { if (f) print > f }' "$tmp/tap.out"
# block_for NAME: the block of NAME with correlationId 0x2A00000001
block_for() {
    grep -l " name=$1 " "$tmp"/block.* 2>/dev/null | while read -r b; do
        grep -q '^correlationId=180388626433$' "$b" && { echo "$b"; break; }
    done
}
check_block() { # name  hex  length  block-file
    want=$("$TP" decode "$2")
    got=$(sed -n '2,$p' "$4" | sed '/^$/d')
    head=$(head -n 1 "$4")
    case "$head" in
    *" channel=aeron:ipc stream=16000 length=$3") lenok=1 ;;
    *) lenok=0 ;;
    esac
    if [ "$lenok" -eq 1 ] && [ "$got" = "$want" ]; then
        ok "$1"
    else
        ko "$1: $head"
        printf 'want:\n%s\ngot:\n%s\n' "$want" "$got"
    fi
}
resp=$(block_for ShmAttachResponse)
req=$(block_for ShmAttachRequest)
if [ -n "$resp" ]; then
    check_block test_aeron_tap_driver_rejection_is_the_golden_vector "$REJECTED" 99 "$resp"
else
    ko "test_aeron_tap_driver_rejection_is_the_golden_vector: no such block"
    cat "$tmp/tap.out" | tail -n 60
fi
if [ -n "$req" ]; then
    check_block test_aeron_tap_request_is_the_golden_vector "$REQUEST" 35 "$req"
else
    ko "test_aeron_tap_request_is_the_golden_vector: no such block"
fi
# The driver's other messages on the Aeron streams decode cleanly.
if ! grep -q '^error=' "$tmp/tap.out" && grep -q ' name=ShmPoolAnnounce ' "$tmp/tap.out" &&
    grep -q ' name=ShmDriverShutdown ' "$tmp/tap.out" &&
    grep -q ' channel=aeron:ipc stream=16001 ' "$tmp/tap.out"; then
    ok test_aeron_tap_driver_messages_decode
else
    ko test_aeron_tap_driver_messages_decode
    grep -B3 '^error=' "$tmp/tap.out" | head -n 20
fi

[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failed"
[ "$fails" -eq 0 ]
