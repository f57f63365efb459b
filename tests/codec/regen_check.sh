#!/bin/sh
# The committed src/codec/gen/ is exactly what tools/sbe_gen.py makes of schemas/*.xml
# (DESIGN.md §1: CI fails when regenerating changes them).
# usage: regen_check.sh PYTHON3|"" SOURCE_DIR   (exit 77 = skipped: no Python 3)
set -u
py=$1 src=$2
if [ -z "$py" ] || ! "$py" -c 'import sys; sys.exit(sys.version_info[0] != 3)' 2>/dev/null; then
    echo "skip: Python 3 not found, cannot regenerate the codecs"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp_regen.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
"$py" "$src/tools/sbe_gen.py" --out "$tmp/gen" "$src"/schemas/*.xml || exit 1
if ! diff -r "$tmp/gen" "$src/src/codec/gen"; then
    echo "FAIL: src/codec/gen is stale; run 'make regen' and commit the result"
    exit 1
fi
# Deterministic: a second run writes the same bytes.
"$py" "$src/tools/sbe_gen.py" --out "$tmp/gen2" "$src"/schemas/*.xml || exit 1
diff -r "$tmp/gen" "$tmp/gen2" || { echo "FAIL: generator output is not deterministic"; exit 1; }
echo "ok   src/codec/gen matches tools/sbe_gen.py output"
