# The Aeron transport (issue 7, docs/aeron.md, src/transport/aeron/): an installed Aeron C client
# and C media driver, found with find_package(aeron CONFIG) — never vendored, never downloaded.
#
#   TP_WITH_AERON = AUTO (default)  use Aeron when find_package finds it, else build without
#                   ON              Aeron is required: configuring fails without it
#                   OFF             build without Aeron (the Aeron tests report "skipped")
#
# Where CMake looks: aeron_DIR (the directory of aeron-config.cmake, e.g.
# /opt/aeron/lib/cmake/aeron), aeron_ROOT or Aeron_ROOT (an install prefix; CMake or
# environment variable), CMAKE_PREFIX_PATH, then the system prefixes (/usr/local, /usr).
# Aeron's package exports aeron::aeron (libaeron.so, the client) and aeron::aeron_driver
# (libaeron_driver.so, the embeddable media driver); both are linked, shared.
#
# Sets TP_AERON_FOUND (and TP_AERON_VERSION, TP_AERON_PREFIX). Included by the top-level
# CMakeLists.txt after the layer libraries exist; tp_aeron_link_library() is called once the
# installable library targets exist.

set(TP_AERON_FOUND FALSE)
set(TP_AERON_PC_LIBS "")            # appended to tensorpool.pc Libs.private
set(TP_AERON_CONFIG_DEPENDENCY "")  # a line of tensorpoolConfig.cmake

string(TOUPPER "${TP_WITH_AERON}" tp_aeron_mode)
if(tp_aeron_mode MATCHES "^(OFF|FALSE|NO|0|N)$")
  set(tp_aeron_mode OFF)
elseif(tp_aeron_mode MATCHES "^(ON|TRUE|YES|1|Y|REQUIRED)$")
  set(tp_aeron_mode ON)
elseif(NOT tp_aeron_mode STREQUAL "AUTO")
  message(FATAL_ERROR "TP_WITH_AERON must be AUTO, ON or OFF (got '${TP_WITH_AERON}')")
endif()

if(tp_aeron_mode STREQUAL "OFF")
  message(STATUS "Aeron transport: off (TP_WITH_AERON=OFF)")
else()
  # <PackageName>_ROOT is case-sensitive before CMake 3.27: accept the spelling of the issue.
  if(NOT DEFINED aeron_ROOT)
    if(DEFINED Aeron_ROOT)
      set(aeron_ROOT "${Aeron_ROOT}")
    elseif(DEFINED ENV{Aeron_ROOT})
      set(aeron_ROOT "$ENV{Aeron_ROOT}")
    endif()
  endif()
  find_package(aeron CONFIG QUIET)
  if(aeron_FOUND AND TARGET aeron::aeron AND TARGET aeron::aeron_driver)
    set(TP_AERON_FOUND TRUE)
    set(TP_AERON_VERSION "${aeron_VERSION}")
    get_filename_component(TP_AERON_PREFIX "${aeron_DIR}/../../.." ABSOLUTE)
    message(STATUS "Aeron transport: Aeron ${aeron_VERSION} from ${aeron_DIR}")
  elseif(aeron_FOUND)
    set(tp_aeron_why "the Aeron package at ${aeron_DIR} lacks aeron::aeron or aeron::aeron_driver "
                     "(build Aeron with BUILD_AERON_DRIVER=ON, docs/aeron.md)")
  else()
    set(tp_aeron_why "find_package(aeron CONFIG) found nothing: set aeron_DIR, Aeron_ROOT or "
                     "CMAKE_PREFIX_PATH to the Aeron install prefix (docs/aeron.md)")
  endif()
  if(NOT TP_AERON_FOUND)
    string(CONCAT tp_aeron_why ${tp_aeron_why})
    if(tp_aeron_mode STREQUAL "ON")
      message(FATAL_ERROR "TP_WITH_AERON=ON: ${tp_aeron_why}")
    endif()
    message(STATUS "Aeron transport: not built (${tp_aeron_why}); the Aeron tests will be "
                   "skipped")
  endif()
endif()

if(TP_AERON_FOUND)
  foreach(t tp_transport_objects tp_transport)
    target_link_libraries(${t} PUBLIC aeron::aeron aeron::aeron_driver)
  endforeach()
  target_compile_definitions(tp_transport_objects PRIVATE TP_HAVE_AERON=1)

  # Installed package: libtensorpool.a users need Aeron too.
  set(TP_AERON_CONFIG_DEPENDENCY
      "find_dependency(aeron CONFIG HINTS \"${aeron_DIR}\") # the Aeron transport")
  get_target_property(tp_aeron_lib aeron::aeron LOCATION)
  get_filename_component(tp_aeron_libdir "${tp_aeron_lib}" DIRECTORY)
  list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${tp_aeron_libdir}" tp_aeron_implicit)
  if(tp_aeron_implicit EQUAL -1)
    set(TP_AERON_PC_LIBS " -L${tp_aeron_libdir} -Wl,-rpath,${tp_aeron_libdir}")
  endif()
  string(APPEND TP_AERON_PC_LIBS " -laeron_driver -laeron")
endif()

# The shared library and the installed executables find an Aeron outside the system library
# directories through their RUNPATH (INSTALL_RPATH_USE_LINK_PATH), like the build tree does.
function(tp_aeron_link_library shared static)
  if(NOT TP_AERON_FOUND)
    return()
  endif()
  target_link_libraries(${shared} PRIVATE aeron::aeron aeron::aeron_driver)
  target_link_libraries(${static} INTERFACE $<LINK_ONLY:aeron::aeron>
                        $<LINK_ONLY:aeron::aeron_driver>)
  set_target_properties(${shared} ${ARGN} PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
endfunction()
