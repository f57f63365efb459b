#!/bin/sh
# test_packaging_pkgconfig: tests/packaging/consumer_project/Makefile, which takes its flags from
# `pkg-config --cflags --libs tensorpool` (and --static for libtensorpool.a), against the prefix
# test_packaging_install filled; the programs run. Skipped (77) without pkg-config.
# usage: consumer_pkgconfig.sh PREFIX LIBDIR WORK_DIR VERSION CC CXX "EXTRA_FLAGS"
set -eu
. "$(dirname "$0")/lib.sh"
prefix=$1 libdir=$2 work=$3 version=$4 cc=$5 cxx=$6 extra=$7
src=$(cd "$(dirname "$0")/consumer_project" && pwd)
pkg_config=${PKG_CONFIG:-pkg-config}

if ! command -v "$pkg_config" >/dev/null 2>&1; then
    echo "skip: no pkg-config on this machine (the CMake package is tested by test_packaging_cmake)"
    exit 77
fi
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH

[ "$("$pkg_config" --modversion tensorpool)" = "$version" ] || fail "pkg-config --modversion"
[ "$("$pkg_config" --variable=prefix tensorpool)" = "$prefix" ] ||
    fail "pkg-config finds a tensorpool.pc outside $prefix"
echo "cflags: $("$pkg_config" --cflags tensorpool)"
echo "libs: $("$pkg_config" --libs tensorpool)"
echo "libs --static: $("$pkg_config" --libs --static tensorpool)"

rm -rf "$work"
mkdir -p "$work/run"
targets="consumer_shared consumer_static"
[ -n "$cxx" ] && targets="$targets consumer_cxx"
# shellcheck disable=SC2086 # $targets is a list
(cd "$work" && ${MAKE:-make} -f "$src/Makefile" SRC="$src" PKG_CONFIG="$pkg_config" \
    CC="$cc" CXX="${cxx:-c++}" CFLAGS="-Wall -Wextra -Wpedantic -Werror $extra" \
    CXXFLAGS="-Wall -Wextra -Wpedantic -Werror $extra" LDFLAGS="$extra" $targets) \
    >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "make failed"; }
cat "$work/build.log"

needs_libtensorpool "$work/consumer_shared" yes
needs_libtensorpool "$work/consumer_static" no
run_consumer "$work/consumer_shared" "$version" "$work/run/shared"
run_consumer "$work/consumer_static" "$version" "$work/run/static"
if [ -n "$cxx" ]; then
    run_consumer_cxx "$work/consumer_cxx" "$version"
fi
rm -rf "$work/run"
echo "1 passed, 0 failed"
