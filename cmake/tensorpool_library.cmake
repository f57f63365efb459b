# libtensorpool: the public API of include/tensorpool/ as one shared and one static library,
# and what `make install` (cmake --install) puts under the prefix (docs/install.md):
#
#   bin/tensorpool                                  the CLI
#   include/tensorpool/*.h                          the public headers
#   LIBDIR/libtensorpool.so.<version>, .so.<soversion> (the SONAME), .so, libtensorpool.a
#   LIBDIR/pkgconfig/tensorpool.pc
#   LIBDIR/cmake/tensorpool/tensorpoolConfig.cmake, ...ConfigVersion.cmake, ...Targets*.cmake
#
# LIBDIR is CMAKE_INSTALL_LIBDIR (GNUInstallDirs: lib on Debian for prefixes other than /usr).
# Included from the top-level CMakeLists.txt after the layer libraries exist.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The version is written twice: project(VERSION) and TP_VERSION_* in the installed header,
# which applications compile against. Refuse to configure when they disagree.
file(STRINGS ${CMAKE_SOURCE_DIR}/include/tensorpool/tensorpool.h tp_version_lines
     REGEX "^#define TP_VERSION_(MAJOR|MINOR|PATCH) ")
foreach(part MAJOR MINOR PATCH)
  string(REGEX MATCH "TP_VERSION_${part} ([0-9]+)" tp_version_match "${tp_version_lines}")
  if(NOT "${CMAKE_MATCH_1}" STREQUAL "${PROJECT_VERSION_${part}}")
    message(FATAL_ERROR "include/tensorpool/tensorpool.h has TP_VERSION_${part} "
                        "'${CMAKE_MATCH_1}' but project(VERSION) is ${PROJECT_VERSION}")
  endif()
endforeach()

# ABI compatibility follows semantic versioning: from 1.0 a major version keeps the ABI; before
# 1.0 every minor version may break it, so the SONAME carries major.minor (libtensorpool.so.0.1)
# and find_package(tensorpool 0.1) accepts 0.1.x only.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(TP_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(TP_VERSION_COMPATIBILITY SameMinorVersion)
else()
  set(TP_SOVERSION ${PROJECT_VERSION_MAJOR})
  set(TP_VERSION_COMPATIBILITY SameMajorVersion)
endif()

# The layers behind the public API. The driver layer is not part of it (no public header;
# `tensorpool driver` is the CLI).
set(TP_LIBRARY_LAYERS tp_util tp_codec tp_shm tp_transport tp_client)
set(tp_library_objects "")
foreach(layer ${TP_LIBRARY_LAYERS})
  list(APPEND tp_library_objects $<TARGET_OBJECTS:${layer}_objects>)
endforeach()

add_library(tensorpool SHARED ${tp_library_objects})
add_library(tensorpool_static STATIC ${tp_library_objects})
set_target_properties(tensorpool PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${TP_SOVERSION})
set_target_properties(tensorpool_static PROPERTIES OUTPUT_NAME tensorpool)
foreach(t tensorpool tensorpool_static)
  target_include_directories(${t} INTERFACE $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${t} PRIVATE Threads::Threads)
endforeach()
# Every symbol resolved at link time (a missing layer fails here, not in an application).
# Sanitizer runtimes are linked into executables only, so not with a sanitizer.
if(TP_SANITIZE STREQUAL "")
  target_link_options(tensorpool PRIVATE -Wl,--no-undefined)
endif()

# ---- install -------------------------------------------------------------------------------

set(TP_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tensorpool)

install(TARGETS tensorpool tensorpool_static EXPORT tensorpoolTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS tensorpool_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/tensorpool DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# CMake package: find_package(tensorpool CONFIG) -> tensorpool::tensorpool (shared) and
# tensorpool::tensorpool_static. Relocatable (paths relative to the config file).
install(EXPORT tensorpoolTargets NAMESPACE tensorpool:: DESTINATION ${TP_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/tensorpoolConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/packaging/tensorpoolConfig.cmake
                              INSTALL_DESTINATION ${TP_CMAKE_INSTALL_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/packaging/tensorpoolConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY ${TP_VERSION_COMPATIBILITY})
install(FILES ${CMAKE_BINARY_DIR}/packaging/tensorpoolConfig.cmake
              ${CMAKE_BINARY_DIR}/packaging/tensorpoolConfigVersion.cmake
        DESTINATION ${TP_CMAKE_INSTALL_DIR})

# pkg-config file. Its paths are absolute and name the prefix given at install time
# (`cmake --install --prefix P`, which `make install PREFIX=P` uses), not the one configured:
# the template is configured now with @CMAKE_INSTALL_PREFIX@ left in, and finished by the
# install script, where CMAKE_INSTALL_PREFIX is the install-time prefix.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(TP_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(TP_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(TP_PC_PREFIX "@CMAKE_INSTALL_PREFIX@")
# For static linking: pthreads (in libc from glibc 2.34, a separate library before; naming it
# is harmless either way).
set(TP_PC_LIBS_PRIVATE "-lpthread${TP_AERON_PC_LIBS}") # + Aeron (cmake/tensorpool_aeron.cmake)
configure_file(${CMAKE_SOURCE_DIR}/cmake/tensorpool.pc.in
               ${CMAKE_BINARY_DIR}/packaging/tensorpool.pc.in @ONLY)
install(CODE "configure_file(\"${CMAKE_BINARY_DIR}/packaging/tensorpool.pc.in\"
                             \"${CMAKE_BINARY_DIR}/packaging/tensorpool.pc\" @ONLY)")
install(FILES ${CMAKE_BINARY_DIR}/packaging/tensorpool.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
