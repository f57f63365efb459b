#!/bin/sh
# test_packaging_exports: the dynamic symbols libtensorpool.so defines are exactly the
# functions declared in include/tensorpool/*.h, each a function (T): nothing internal
# (tp_ring_*, tp_shmlog_*, tp_err_set, ...) leaks, nothing public is missing. Export is
# controlled by TP_API + -fvisibility=hidden (include/tensorpool/export.h).
# usage: exports_check.sh CC INCLUDE_DIR LIBTENSORPOOL_SO
set -eu
. "$(dirname "$0")/lib.sh"
cc=$1 inc=$2 lib=$3
nm=${NM:-nm}
command -v "$nm" >/dev/null 2>&1 || { echo "skip: no nm (binutils)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Declared: identifiers tp_* followed by '(' in the preprocessed text that comes from the public
# headers (line markers name the file). Function-pointer typedefs read "(*tp_x_fn)(", no match.
for h in "$inc"/tensorpool/*.h; do
    echo "#include <tensorpool/$(basename "$h")>"
done >"$work/all.c"
"$cc" -std=c11 -E -I"$inc" "$work/all.c" >"$work/all.i" || fail "preprocessing the headers"
awk -v dir="$inc/tensorpool/" '
    /^# [0-9]+ "/ { f = $3; gsub(/"/, "", f); keep = (index(f, dir) == 1); next }
    keep' "$work/all.i" | tr '\n' ' ' | grep -o 'tp_[A-Za-z0-9_]*[[:space:]]*(' |
    sed 's/[[:space:]]*($//' | sort -u >"$work/declared"
[ "$(wc -l <"$work/declared")" -ge 50 ] || fail "found only $(wc -l <"$work/declared") declarations"

# Exported: defined dynamic symbols (toolchain ones in the reserved _X / __ space aside).
"$nm" -D --defined-only "$lib" >"$work/nm" || fail "$nm -D $lib"
awk '{ print $NF, $(NF-1) }' "$work/nm" | grep -v '^_' >"$work/exported_types" || true
awk '$2 != "T" { print }' "$work/exported_types" >"$work/not_functions"
cut -d' ' -f1 "$work/exported_types" | sort -u >"$work/exported"

status=0
if [ -s "$work/not_functions" ]; then
    echo "exported symbols that are not functions:"; sed 's/^/  /' "$work/not_functions"; status=1
fi
comm -13 "$work/declared" "$work/exported" >"$work/leaked"
comm -23 "$work/declared" "$work/exported" >"$work/missing"
if [ -s "$work/leaked" ]; then
    echo "exported but not declared in include/tensorpool (internal symbols leak):"
    sed 's/^/  /' "$work/leaked"; status=1
fi
if [ -s "$work/missing" ]; then
    echo "declared in include/tensorpool but not exported (TP_API missing, or the defining file"
    echo "does not include the public header, or not defined in the library):"
    sed 's/^/  /' "$work/missing"; status=1
fi
[ $status -eq 0 ] || fail "exported symbols differ from the public API"
echo "$(wc -l <"$work/exported") exported functions = the public API"
echo "1 passed, 0 failed"
