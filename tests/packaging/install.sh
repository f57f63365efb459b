#!/bin/sh
# test_packaging_install (fixture of the consumer tests): `cmake --install` of the build tree
# into a fresh private prefix, then every file docs/install.md promises is there and the
# installed CLI answers --version.
# usage: install.sh CMAKE BUILD_DIR PREFIX LIBDIR VERSION SOVERSION
set -eu
. "$(dirname "$0")/lib.sh"
cmake=$1 build=$2 prefix=$3 libdir=$4 version=$5 soversion=$6

rm -rf "$prefix"
"$cmake" --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install failed"

for f in bin/tensorpool include/tensorpool/tensorpool.h include/tensorpool/export.h \
         "$libdir/libtensorpool.so" "$libdir/libtensorpool.so.$soversion" \
         "$libdir/libtensorpool.so.$version" "$libdir/libtensorpool.a" \
         "$libdir/pkgconfig/tensorpool.pc" "$libdir/cmake/tensorpool/tensorpoolConfig.cmake" \
         "$libdir/cmake/tensorpool/tensorpoolConfigVersion.cmake" \
         "$libdir/cmake/tensorpool/tensorpoolTargets.cmake"; do
    [ -e "$prefix/$f" ] || fail "not installed: $f"
done
# Nothing under src/ is installed (DESIGN §1): the headers are exactly include/tensorpool/*.h.
for h in "$prefix"/include/tensorpool/*.h; do
    [ -f "$(dirname "$0")/../../include/tensorpool/$(basename "$h")" ] ||
        fail "installed header not in include/tensorpool: $h"
done
if command -v readelf >/dev/null 2>&1; then
    readelf -d "$prefix/$libdir/libtensorpool.so" |
        grep -q "SONAME.*\[libtensorpool\.so\.$soversion\]" ||
        fail "SONAME is not libtensorpool.so.$soversion"
fi
# The pkg-config file names the install-time prefix.
grep -qx "prefix=$prefix" "$prefix/$libdir/pkgconfig/tensorpool.pc" ||
    fail "tensorpool.pc: prefix is not $prefix"

first=$("$prefix/bin/tensorpool" --version | head -n 1)
[ "$first" = "tensorpool $version" ] || fail "tensorpool --version says '$first'"
echo "installed tensorpool $version into $prefix"
