# Helpers of the packaging tests (sourced). POSIX sh.

# The parent `make test` exports its jobserver to ctest; builds started here run their own make.
unset MAKEFLAGS MFLAGS MAKELEVEL

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# needs_libtensorpool BINARY yes|no: whether BINARY has libtensorpool.so.* as NEEDED (a static
# link must not). Without readelf the check is skipped with a note.
needs_libtensorpool() {
    if ! command -v readelf >/dev/null 2>&1; then
        echo "note: no readelf, dynamic dependencies of $1 not checked"
        return 0
    fi
    if readelf -d "$1" | grep -q 'NEEDED.*\[libtensorpool\.so'; then have=yes; else have=no; fi
    [ "$have" = "$2" ] || fail "$1: needs libtensorpool.so: $have, expected $2"
}

# run_consumer BINARY VERSION RUNDIR: the C consumer prints the right lines (main.c).
run_consumer() {
    out=$("$1" "$3") || fail "$1 exited with $?"
    echo "$out" | sed "s|^|  $(basename "$1"): |"
    for want in "version=$2" "dtype=UINT16 extent_bytes=614400" "lease_state=UNATTACHED" \
                "frozen_context_error=TP_ESTATE"; do
        echo "$out" | grep -qx "$want" || fail "$1: no line '$want'"
    done
}

# run_consumer_cxx BINARY VERSION
run_consumer_cxx() {
    out=$("$1") || fail "$1 exited with $?"
    echo "  $(basename "$1"): $out"
    [ "$out" = "cxx_version=$2 dtype=FLOAT32 unknown_level_error=TP_EINVAL" ] ||
        fail "$1: unexpected output"
}
