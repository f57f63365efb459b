#!/bin/sh
# `tensorpool config check|dump CONFIG` (issue 4 "Configuration", docs/configuration.md):
# output lines and exit codes — check prints warning= lines then `ok` (0) or error= lines (1);
# dump prints the effective key=value configuration (0, warnings on stderr) or error= lines (1);
# usage errors print one error= line and exit 2. Every run gets a clean environment (env -i) so
# the caller's DRIVER_* / SHM_* / POLICIES_* variables never leak in (D-89).
# usage: config_test.sh PATH/TO/tensorpool SOURCE_DIR
set -u
TP=$1
SRC=$2
SEED="$SRC/docs/examples/driver_integration_example.toml"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp_cli_config.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
fails=0

ok() { echo "ok   $1"; }
ko() { echo "FAIL $1"; fails=$((fails + 1)); }

# run [VAR=value ...] -- args...: tensorpool in a clean environment; sets $out, $err, $rc
run() {
    vars=
    while [ "$1" != "--" ]; do vars="$vars $1"; shift; done
    shift
    # shellcheck disable=SC2086
    env -i PATH="${PATH:-/usr/bin:/bin}" USER=tester $vars "$TP" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# expect NAME RC: the last run exited with RC
expect_rc() {
    if [ "$rc" -eq "$2" ]; then ok "$1 (exit $2)"; else ko "$1: exit $rc, want $2"; cat "$tmp/out" "$tmp/err"; fi
}

# has NAME LINE: stdout of the last run has exactly this line
has() {
    if grep -qxF -- "$2" "$tmp/out"; then ok "$1"; else ko "$1: no line '$2' in:"; cat "$tmp/out"; fi
}

# has_err_stream NAME LINE: stderr has exactly this line
has_stderr() {
    if grep -qxF -- "$2" "$tmp/err"; then ok "$1"; else ko "$1: no stderr line '$2' in:"; cat "$tmp/err"; fi
}

lacks() {
    if grep -q -- "$2" "$tmp/out"; then ko "$1: unexpected '$2' in:"; cat "$tmp/out"; else ok "$1"; fi
}

cat >"$tmp/min.toml" <<'EOF'
[profiles.p]
payload_pools = [{ pool_id = 1, stride_bytes = 1024 }]

[streams.s]
stream_id = 10
profile = "p"
EOF

cat >"$tmp/bad.toml" <<'EOF'
[driver]
descriptor_stream_id_range = "31000-31999"
control_stream_id_range = "31000-31999"

[profiles.camera]
header_nslots = 100
payload_pools = [{ pool_id = 1, stride_bytes = 100 }]

[streams.cam1]
stream_id = 42
profile = "camera"
EOF

cat >"$tmp/unknown.toml" <<'EOF'
[driver]
colour = "blue"
[profiles.p]
payload_pools = [{ pool_id = 1, stride_bytes = 64 }]
[streams.s]
stream_id = 10
profile = "p"
EOF

# ---- check ----------------------------------------------------------------------------------
run -- config check "$tmp/min.toml"
expect_rc "check valid" 0
if [ "$out" = "ok" ]; then ok "check valid prints exactly ok"; else ko "check valid: '$out'"; fi

run -- config check "$SEED"
expect_rc "check seed config" 0
has "check seed: W-53 warning" "warning=profiles.camera.payload_pools[0].stride_bytes = 655360 (line 29): not a power of two (WIRE W-53); the driver provisions and announces stride 1048576 instead"
if [ "$(tail -n 1 "$tmp/out")" = "ok" ]; then ok "check seed ends with ok"; else ko "check seed: last line"; fi

run -- config check "$tmp/bad.toml"
expect_rc "check invalid" 1
has "check invalid: nslots" "error=profiles.camera.header_nslots = 100 (line 6): must be a power of two (DRIVER D-86)"
has "check invalid: stride" "error=profiles.camera.payload_pools[0].stride_bytes = 100 (line 7): must be >= 64 and a multiple of 64 (WIRE W-53, DRIVER D-86)"
if grep -q '^error=driver.descriptor_stream_id_range = 31000-31999 (line 2): overlaps driver.control_stream_id_range = 31000-31999 (line 3)' "$tmp/out"; then
    ok "check invalid: identical ranges"
else
    ko "check invalid: identical ranges"; cat "$tmp/out"
fi
lacks "check invalid: no ok" "^ok$"

run -- config check "$tmp/unknown.toml"
expect_rc "check unknown key" 0
has "check unknown key: warning" "warning=unknown key 'driver.colour' at line 2"
has "check unknown key: ok" "ok"

run -- config check "$tmp/does-not-exist.toml"
expect_rc "check missing file" 1
if grep -q "^error=.*does-not-exist.toml" "$tmp/out"; then ok "check missing file: error line"; else ko "check missing file"; cat "$tmp/out"; fi

run DRIVER_CONTROL_STREAM_ID=abc -- config check "$tmp/min.toml"
expect_rc "check bad env number" 1
has "check bad env number: names the variable" "error=DRIVER_CONTROL_STREAM_ID = 'abc' (environment, for driver.control_stream_id): not a decimal uint32 (DRIVER D-89)"

# ---- dump -----------------------------------------------------------------------------------
run -- config dump "$SEED"
expect_rc "dump seed" 0
has "dump: instance" "driver.instance_id=driver-example"
has "dump: aeron_dir" "driver.aeron_dir="
has "dump: control" "driver.control_stream_id=15000"
has "dump: announce" "driver.announce_stream_id=15001"
has "dump: qos" "driver.qos_stream_id=15002"
has "dump: empty range" "driver.descriptor_stream_id_range="
has "dump: bool" "shm.require_hugepages=false"
has "dump: permissions" "shm.permissions_mode=660"
has "dump: allowed dirs" "shm.allowed_base_dirs[0]=/dev/shm"
has "dump: default profile" "policies.default_profile=camera"
has "dump: nslots" "profiles.camera.header_nslots=64"
has "dump: stride" "profiles.camera.payload_pools[0].stride_bytes=655360"
has "dump: effective stride" "profiles.camera.payload_pools[0].stride_effective=1048576"
has "dump: stream" "streams.cam1.stream_id=42"
has "dump: stream profile" "streams.cam1.profile=camera"
lacks "dump: no warning on stdout" "^warning="
has_stderr "dump: warning on stderr" "warning=profiles.camera.payload_pools[0].stride_bytes = 655360 (line 29): not a power of two (WIRE W-53); the driver provisions and announces stride 1048576 instead"
if grep -qv '^[a-z_.0-9]*\(\[[0-9]*\]\)\?\([a-z_.]*\)=' "$tmp/out"; then
    ko "dump: every line is key=value"; cat "$tmp/out"
else
    ok "dump: every line is key=value"
fi

run DRIVER_CONTROL_STREAM_ID=16000 DRIVER_DESCRIPTOR_STREAM_ID_RANGE=31000-31999 POLICIES_MLOCK_SHM=TRUE SHM_PERMISSIONS_MODE=0600 -- config dump "$SEED"
expect_rc "dump with env" 0
has "dump env: control" "driver.control_stream_id=16000"
has "dump env: announce stays explicit" "driver.announce_stream_id=15001"
has "dump env: range" "driver.descriptor_stream_id_range=31000-31999"
has "dump env: bool" "policies.mlock_shm=true"
has "dump env: mode" "shm.permissions_mode=600"

run TP_CONTROL_STREAM_ID=17000 AERON_DIR=/tmp/aeron-x -- config dump "$SEED"
has "dump alias: control" "driver.control_stream_id=17000"
has "dump alias: aeron_dir" "driver.aeron_dir=/tmp/aeron-x"
run TP_CONTROL_STREAM_ID=17000 DRIVER_CONTROL_STREAM_ID=18000 -- config dump "$SEED"
has "dump alias precedence" "driver.control_stream_id=18000"

run -- config dump "$tmp/bad.toml"
expect_rc "dump invalid" 1
has "dump invalid: error line" "error=profiles.camera.header_nslots = 100 (line 6): must be a power of two (DRIVER D-86)"
lacks "dump invalid: no config" "^driver.instance_id="

# ---- usage ----------------------------------------------------------------------------------
usage_case() {
    name=$1
    shift
    run -- config "$@"
    if [ "$rc" -eq 2 ] && [ "$(grep -c '^error=' "$tmp/out")" -eq 1 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ]; then
        ok "usage: $name (exit 2, one error= line)"
    else
        ko "usage: $name: exit $rc"; cat "$tmp/out"
    fi
}
usage_case "no arguments"
usage_case "no file" check
usage_case "unknown subcommand" frob "$SEED"
usage_case "extra argument" check "$SEED" extra

run -- --help
if grep -q "^  config " "$tmp/out"; then ok "help lists config"; else ko "help lists config"; cat "$tmp/out"; fi

[ $fails -eq 0 ] && echo "config_test: all passed" && exit 0
echo "config_test: $fails failed"
exit 1
