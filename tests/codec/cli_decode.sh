#!/bin/sh
# `tensorpool decode` on the LAYOUT §6 golden vectors and on malformed input (DESIGN.md §5).
# usage: cli_decode.sh PATH/TO/tensorpool
set -u
TP=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp_cli_decode.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0

# expect NAME STATUS EXPECTED_OUTPUT -- ARGS...
expect() {
    name=$1 want_status=$2 want=$3
    shift 4
    got=$("$TP" decode "$@" 2>"$tmp/stderr")
    status=$?
    if [ "$status" -ne "$want_status" ] || [ "$got" != "$want" ]; then
        echo "FAIL $name: status $status (want $want_status)"
        printf '%s\n' "--- got:" "$got" "--- want:" "$want"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

# expect_error NAME REASON_PREFIX -- ARGS...: exit 2, exactly one line "error=<reason>"
expect_error() {
    name=$1 prefix=$2
    shift 3
    got=$("$TP" decode "$@" 2>/dev/null)
    status=$?
    lines=$(printf '%s\n' "$got" | wc -l)
    case "$got" in
    "error=$prefix"*) match=1 ;;
    *) match=0 ;;
    esac
    if [ "$status" -ne 2 ] || [ "$lines" -ne 1 ] || [ "$match" -ne 1 ]; then
        echo "FAIL $name: status $status, output: $got (want error=$prefix...)"
        fails=$((fails + 1))
    else
        echo "ok   $name ($got)"
    fi
}

FD="28 00 04 00 84 03 01 00 10 27 00 00 03 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00
00 ca 9a 3b 00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00"
expect test_layout_s6_cli_frame_descriptor 0 "schema=900 template=4 name=FrameDescriptor version=1 block_length=40
streamId=10000
epoch=3
seq=42
timestampNs=1000000000
metaVersion=7
traceId=null" -- "$FD"

FDN="28 00 04 00 84 03 01 00 10 27 00 00 03 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00
ff ff ff ff ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00"
expect test_layout_s6_cli_frame_descriptor_nulls_w078 0 "schema=900 template=4 name=FrameDescriptor version=1 block_length=40
streamId=10000
epoch=3
seq=42
timestampNs=null
metaVersion=null
traceId=null" -- "hex:$FDN"

expect test_layout_s6_cli_frame_progress 0 "schema=900 template=11 name=FrameProgress version=1 block_length=29
streamId=10000
epoch=3
seq=42
payloadBytesFilled=4096
state=PROGRESS" -- "hex:1d000b00 84030100 10270000 03000000 00000000 2a000000 00000000 00100000 00000000 02"

# W-190: an undefined enum number prints as the number.
expect test_wire_w190_cli_undefined_enum_prints_number 0 "schema=900 template=11 name=FrameProgress version=1 block_length=29
streamId=10000
epoch=3
seq=42
payloadBytesFilled=4096
state=9" -- "1d000b00840301001027000003000000000000002a00000000000000001000000000000009"

ANNOUNCE="23 00 01 00 84 03 01 00 10 27 00 00 07 00 00 00 03 00 00 00 00 00 00 00 15 cd 5b 07 00 00 00 00
01 01 00 00 00 08 00 00 00 00 01 0a 00 01 00 01 00 08 00 00 00 00 00 01 00 3e 00 00 00 73 68 6d
3a 66 69 6c 65 3f 70 61 74 68 3d 2f 64 65 76 2f 73 68 6d 2f 74 65 6e 73 6f 72 70 6f 6f 6c 2d 61
6c 69 63 65 2f 64 65 66 61 75 6c 74 2f 31 30 30 30 30 2f 33 2f 31 2e 70 6f 6f 6c 43 00 00 00 73
68 6d 3a 66 69 6c 65 3f 70 61 74 68 3d 2f 64 65 76 2f 73 68 6d 2f 74 65 6e 73 6f 72 70 6f 6f 6c
2d 61 6c 69 63 65 2f 64 65 66 61 75 6c 74 2f 31 30 30 30 30 2f 33 2f 68 65 61 64 65 72 2e 72 69
6e 67"
expect test_layout_s6_cli_shm_pool_announce 0 "schema=900 template=1 name=ShmPoolAnnounce version=1 block_length=35
streamId=10000
producerId=7
epoch=3
announceTimestampNs=123456789
announceClockDomain=MONOTONIC
layoutVersion=1
headerNslots=8
headerSlotBytes=256
payloadPools[0].poolId=1
payloadPools[0].poolNslots=8
payloadPools[0].strideBytes=65536
payloadPools[0].regionUri=shm:file?path=/dev/shm/tensorpool-alice/default/10000/3/1.pool
headerRegionUri=shm:file?path=/dev/shm/tensorpool-alice/default/10000/3/header.ring" -- "$ANNOUNCE"

expect test_layout_s6_cli_consumer_hello 0 "schema=900 template=2 name=ConsumerHello version=1 block_length=39
streamId=10000
consumerId=42
supportsShm=TRUE
supportsProgress=FALSE
mode=STREAM
maxRateHz=0
expectedLayoutVersion=1
progressIntervalUs=null
progressBytesDelta=null
progressMajorDeltaUnits=null
descriptorStreamId=0
controlStreamId=0
descriptorChannel=
controlChannel=" -- "27 00 02 00 84 03 01 00 10 27 00 00 2a 00 00 00 01 00 01 00 00 00 00 01 00 00 00 ff ff ff ff ff
ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"

expect test_layout_s6_cli_shm_attach_request 0 "schema=901 template=1 name=ShmAttachRequest version=1 block_length=27
correlationId=180388626433
streamId=10000
clientId=42
role=CONSUMER
expectedLayoutVersion=0
publishMode=null
requireHugepages=UNSPECIFIED
desiredNodeId=null" -- "1b 00 01 00 85 03 01 00 01 00 00 00 2a 00 00 00 10 27 00 00 2a 00 00 00 02 00 00 00 00 ff 00 ff ff ff ff"

expect test_layout_s6_cli_shm_lease_keepalive 0 "schema=901 template=5 name=ShmLeaseKeepalive version=1 block_length=25
leaseId=5
streamId=10000
clientId=42
role=CONSUMER
clientTimestampNs=123456789" -- "19 00 05 00 85 03 01 00 05 00 00 00 00 00 00 00 10 27 00 00 2a 00 00 00 02 15 cd 5b 07 00 00 00 00"

REJECT="36 00 02 00 85 03 01 00 01 00 00 00 2a 00 00 00 03 00 00 00 ff ff ff ff ff ff ff ff ff ff ff ff
ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff 0a 00
00 00 00 00 00 00 19 00 00 00 70 72 6f 64 75 63 65 72 20 61 6c 72 65 61 64 79 20 61 74 74 61 63
68 65 64"
expect test_layout_s6_cli_shm_attach_response_rejection 0 "schema=901 template=2 name=ShmAttachResponse version=1 block_length=54
correlationId=180388626433
code=REJECTED
leaseId=null
leaseExpiryTimestampNs=null
streamId=null
epoch=null
layoutVersion=null
headerNslots=null
headerSlotBytes=null
nodeId=null
headerRegionUri=
errorMessage=producer already attached" -- "$REJECT"

# The TensorHeader of the LAYOUT §6 header slot (slot bytes 64..255), with its message header.
TH="b8 00 34 00 84 03 01 00 01 00 01 00 02 00 00 00 00 00 00 02 00 00 00 03 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 01 00 00 00 00 00 00 00 00"
i=0
while [ $i -lt 128 ]; do TH="$TH 00"; i=$((i + 1)); done
TH_OUT="schema=900 template=52 name=TensorHeader version=1 block_length=184
dtype=UINT8
majorOrder=ROW
ndims=2
maxDims=8
padAlign=0
progressUnit=NONE
progressStrideBytes=0
dims=2,3,0,0,0,0,0,0
strides=3,1,0,0,0,0,0,0
pad=0"
expect test_layout_s6_cli_tensor_header_in_slot 0 "$TH_OUT" -- "$TH"

# @FILE takes raw bytes.
printf '\050\000\004\000\204\003\001\000\020\047\000\000\003\000\000\000\000\000\000\000\052\000\000\000\000\000\000\000\000\312\232\073\000\000\000\000\007\000\000\000\000\000\000\000\000\000\000\000' >"$tmp/fd.bin"
expect test_layout_s6_cli_at_file 0 "schema=900 template=4 name=FrameDescriptor version=1 block_length=40
streamId=10000
epoch=3
seq=42
timestampNs=1000000000
metaVersion=7
traceId=null" -- "@$tmp/fd.bin"

# Var data: printable ASCII as text, anything else as hex; groups with entries of var data only.
expect test_layout_s17_cli_var_data_text_and_hex 0 "schema=900 template=8 name=DataSourceMeta version=1 block_length=16
streamId=1
metaVersion=2
timestampNs=3
attributes[0].key=k
attributes[0].format=
attributes[0].value=hex:00ff0a
attributes[1].key=a b~
attributes[1].format=f
attributes[1].value=42" -- "10 00 08 00 84 03 01 00 01 00 00 00 02 00 00 00 03 00 00 00 00 00 00 00
00 00 02 00  01 00 00 00 6b  00 00 00 00  03 00 00 00 00 ff 0a
04 00 00 00 61 20 62 7e  01 00 00 00 66  02 00 00 00 34 32"

# Nested groups (DISCOVERY §4.2/§4.3): results[0].payloadPools[0], results[0].tags[1].
DR="09 00 02 00 8e 03 01 00 07 00 00 00 00 00 00 00 01
27 00 01 00
 01 00 00 00 02 00 00 00 03 00 00 00 00 00 00 00 01 00 00 00 08 00 00 00 00 01 08
 ff ff ff ff ff ff ff ff e8 03 00 00
 0a 00 01 00  05 00 08 00 00 00 00 00 01 00 01 00 00 00 70
 00 00 02 00  03 00 00 00 61 62 63  00 00 00 00
 01 00 00 00 68  00 00 00 00  02 00 00 00 64 31  00 00 00 00
00 00 00 00"
expect test_discovery_s43_cli_nested_groups 0 "schema=910 template=2 name=DiscoveryResponse version=1 block_length=9
requestId=7
status=OK
results[0].streamId=1
results[0].producerId=2
results[0].epoch=3
results[0].layoutVersion=1
results[0].headerNslots=8
results[0].headerSlotBytes=256
results[0].maxDims=8
results[0].dataSourceId=null
results[0].driverControlStreamId=1000
results[0].payloadPools[0].poolId=5
results[0].payloadPools[0].poolNslots=8
results[0].payloadPools[0].strideBytes=65536
results[0].payloadPools[0].regionUri=p
results[0].tags[0].tag=abc
results[0].tags[1].tag=
results[0].headerRegionUri=h
results[0].dataSourceName=
results[0].driverInstanceId=d1
results[0].driverControlChannel=
errorMessage=" -- "$DR"

# Malformed input: exit status 2 and exactly one error= line.
expect_error test_layout_s110_cli_truncated "truncated: need 48 bytes, have 20" -- \
    "28 00 04 00 84 03 01 00 10 27 00 00 03 00 00 00 00 00 00 00"
expect_error test_layout_s110_cli_short_header "truncated: need 8 bytes, have 3" -- "28 00 04"
expect_error test_layout_s110_cli_empty "truncated: need 8 bytes, have 0" -- ""
expect_error test_wire_w004_cli_unknown_schema "unknown schema 999" -- \
    "28 00 04 00 e7 03 01 00 10 27 00 00 03 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 00 ca 9a 3b 00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00"
expect_error test_wire_w004_cli_unknown_template "unknown template 10 of schema 900" -- \
    "28 00 0a 00 84 03 01 00 10 27 00 00 03 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 00 ca 9a 3b 00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00"
expect_error test_driver_d034_cli_newer_version "version 2 of schema 900 is newer than 1" -- \
    "28 00 04 00 84 03 02 00 10 27 00 00 03 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 00 ca 9a 3b 00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00"
expect_error test_wire_w081_cli_short_block "block length 39 < 40" -- \
    "27 00 04 00 84 03 01 00 10 27 00 00 03 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 00 ca 9a 3b 00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00"
expect_error test_layout_s17_cli_var_data_past_end "payloadPools[0]: regionUri: truncated" -- \
    "23 00 01 00 84 03 01 00 10 27 00 00 07 00 00 00 03 00 00 00 00 00 00 00 15 cd 5b 07 00 00 00 00
01 01 00 00 00 08 00 00 00 00 01 0a 00 01 00 01 00 08 00 00 00 00 00 01 00 3e 00 00 00 73 68 6d"
expect_error test_cli_decode_bad_hex "invalid hex" -- "28 00 zz"
expect_error test_cli_decode_odd_hex "invalid hex" -- "28 0"
expect_error test_cli_decode_missing_file "cannot open" -- "@$tmp/does-not-exist"
expect_error test_cli_decode_usage "usage" --

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
