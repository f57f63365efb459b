#!/bin/sh
# test_packaging_headers_c11 / _cxx17: every public header compiles on its own (and twice in a
# row: include guards) as C11 or as C++17, -Wall -Wextra -Wpedantic -Werror; then all together.
# usage: headers_check.sh c|cxx COMPILER INCLUDE_DIR
set -eu
. "$(dirname "$0")/lib.sh"
lang=$1 compiler=$2 inc=$3
if [ -z "$compiler" ]; then
    echo "skip: no C++ compiler"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $lang in
    c) ext=c
       flags="-std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes"
       flags="$flags -Wmissing-prototypes" ;;
    cxx) ext=cpp
         flags="-std=c++17 -Wall -Wextra -Wpedantic -Werror -Wshadow" ;;
    *) fail "language must be c or cxx" ;;
esac

n=0
for h in "$inc"/tensorpool/*.h; do
    name=$(basename "$h")
    # (the typedef: a header of macros only would leave an empty translation unit, -Wpedantic)
    printf '#include <tensorpool/%s>\n#include <tensorpool/%s>\ntypedef int unit_t;\n' \
        "$name" "$name" >"$work/t.$ext"
    # shellcheck disable=SC2086
    "$compiler" $flags -I"$inc" -fsyntax-only "$work/t.$ext" ||
        fail "$name does not compile alone ($lang)"
    printf '#include <tensorpool/%s>\n' "$name" >>"$work/all.$ext"
    n=$((n + 1))
done
# shellcheck disable=SC2086
"$compiler" $flags -I"$inc" -fsyntax-only "$work/all.$ext" || fail "the headers together ($lang)"
echo "$n headers compile alone as $lang"
echo "1 passed, 0 failed"
