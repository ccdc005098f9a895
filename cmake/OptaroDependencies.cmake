# optaro_require_package(<Package> <debian-package> [FOR <reason>] [<find_package arguments>...])
#
# Finds a dependency that the current configuration needs and, when it is missing, stops with a
# message that names the Debian package to install, instead of CMake's generic "could not find a
# package configuration file" page. optaro takes its dependencies from the distribution (Debian 12),
# so the package name is the useful part of the message.
#
# A macro, not a function: find_package() results (<Package>_FOUND, the variables and helper
# functions a package config defines, e.g. pybind11's) must land in the caller's scope.
#
#   optaro_require_package(GTest libgtest-dev FOR "OPTARO_BUILD_TESTS=ON")
#   optaro_require_package(pybind11 pybind11-dev FOR "OPTARO_BUILD_PYTHON=ON" CONFIG)
include_guard(GLOBAL)

macro(optaro_require_package _optaro_req_package _optaro_req_debian)
  cmake_parse_arguments(_optaro_req "" "FOR" "" ${ARGN})
  find_package(${_optaro_req_package} ${_optaro_req_UNPARSED_ARGUMENTS} QUIET)
  if(NOT ${_optaro_req_package}_FOUND)
    if(_optaro_req_FOR)
      set(_optaro_req_because " (needed because ${_optaro_req_FOR})")
    else()
      set(_optaro_req_because "")
    endif()
    message(FATAL_ERROR
      "optaro: the CMake package '${_optaro_req_package}' was not found${_optaro_req_because}.\n"
      "On Debian/Ubuntu install it with:\n"
      "    sudo apt-get install ${_optaro_req_debian}\n"
      "or run `bash .ci/install-deps.sh`, which installs everything optaro's builds use. If it is "
      "installed somewhere CMake does not look, add that prefix to CMAKE_PREFIX_PATH or set "
      "${_optaro_req_package}_DIR.")
  endif()
  unset(_optaro_req_because)
  unset(_optaro_req_FOR)
  unset(_optaro_req_UNPARSED_ARGUMENTS)
endmacro()
