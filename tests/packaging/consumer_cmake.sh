#!/bin/sh
# test_packaging_cmake: tests/packaging/consumer_project built out of tree with
# find_package(tensorpool CONFIG REQUIRED) against the prefix test_packaging_install filled,
# linked to tensorpool::tensorpool (shared) and tensorpool::tensorpool_static, then run.
# usage: consumer_cmake.sh CMAKE GENERATOR PREFIX WORK_DIR VERSION CC CXX "EXTRA_FLAGS"
#   CXX may be empty (no C++ compiler: no consumer_cxx); EXTRA_FLAGS are the sanitizer flags
#   of the tensorpool build, which its libraries need in the program too.
set -eu
. "$(dirname "$0")/lib.sh"
cmake=$1 generator=$2 prefix=$3 work=$4 version=$5 cc=$6 cxx=$7 extra=$8
src=$(cd "$(dirname "$0")/consumer_project" && pwd)

rm -rf "$work"
mkdir -p "$work/run"
strict="-Wall -Wextra -Wpedantic -Werror"
set -- -S "$src" -B "$work/build" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$strict $extra" -DCMAKE_EXE_LINKER_FLAGS="$extra"
if [ -n "$cxx" ]; then
    set -- "$@" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$strict $extra"
fi
"$cmake" "$@" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure failed"; }
grep "tensorpool $version from $prefix/" "$work/configure.log" ||
    { cat "$work/configure.log"; fail "find_package did not find tensorpool $version in $prefix"; }
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "build failed"; }

needs_libtensorpool "$work/build/consumer_shared" yes
needs_libtensorpool "$work/build/consumer_static" no
run_consumer "$work/build/consumer_shared" "$version" "$work/run/shared"
run_consumer "$work/build/consumer_static" "$version" "$work/run/static"
if [ -n "$cxx" ]; then
    run_consumer_cxx "$work/build/consumer_cxx" "$version"
fi
rm -rf "$work/run"
echo "1 passed, 0 failed"
