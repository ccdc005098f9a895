# cmake -DMODE=install|build-tree -DSOURCE_DIR=... -DBUILD_DIR=... -DWORK_DIR=... [...] -P ConsumerTest.cmake
#
# Proves that optaro works as a CMake package for a project outside its source tree.
#   install:    `cmake --install` the build into WORK_DIR/prefix, then build and run tests/consumer
#               and examples/ against that prefix with find_package(optaro CONFIG REQUIRED); check
#               that unknown or unbuilt components and incompatible versions are refused cleanly and
#               that OPTIONAL_COMPONENTS are not.
#   build-tree: the same consumer against the build directory itself (optaro_DIR=BUILD_DIR).
# Registered by tests/CMakeLists.txt as the `install`-labelled tests.
#
# Other inputs: CONFIG, GENERATOR, CXX_COMPILER, CXX_LAUNCHER, SANITIZER_FLAGS (space-separated),
# EXPECTED_VERSION, INSTALL_CMAKEDIR, BUILT_COMPONENTS (comma-separated: the components the build made).

cmake_policy(VERSION 3.25)  # a -P script starts with no policies set (IN_LIST needs CMP0057)

foreach(var IN ITEMS MODE SOURCE_DIR BUILD_DIR WORK_DIR GENERATOR EXPECTED_VERSION INSTALL_CMAKEDIR)
  if("${${var}}" STREQUAL "")
    message(FATAL_ERROR "ConsumerTest: ${var} is not set")
  endif()
endforeach()

# run(<name> SUCCESS|FAILURE <output-var> <command>...): runs a command, prints it, and stops the
# test when it does not end the expected way. The combined output is returned for further checks.
function(run name expect out_var)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "[${name}] ${shown}")
  execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
  if(expect STREQUAL "SUCCESS" AND NOT rc EQUAL 0)
    message(FATAL_ERROR "[${name}] failed (exit ${rc}):\n${out}")
  elseif(expect STREQUAL "FAILURE" AND rc EQUAL 0)
    message(FATAL_ERROR "[${name}] succeeded but must fail:\n${out}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# CMake wraps messages at word boundaries, so both match on the text with whitespace runs collapsed.
function(require_match name text regex)
  string(REGEX REPLACE "[ \t\r\n]+" " " text "${text}")
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "[${name}] expected output matching '${regex}', got:\n${text}")
  endif()
endfunction()

function(require_no_match name text regex)
  string(REGEX REPLACE "[ \t\r\n]+" " " text "${text}")
  if(text MATCHES "${regex}")
    message(FATAL_ERROR "[${name}] output must not match '${regex}', got:\n${text}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

# Everything a consumer build shares: same generator, compiler, build type and (for a sanitized
# build) the sanitizer runtime. The package registry is off so nothing but what we point at is found.
set(project_args -G "${GENERATOR}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(CONFIG)
  list(APPEND project_args "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
if(CXX_COMPILER)
  list(APPEND project_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CXX_LAUNCHER)
  list(APPEND project_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_LAUNCHER}")
endif()
if(SANITIZER_FLAGS)
  list(APPEND project_args "-DCMAKE_CXX_FLAGS=${SANITIZER_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZER_FLAGS}")
endif()

if(MODE STREQUAL "install")
  set(prefix "${WORK_DIR}/prefix")
  run(install SUCCESS out "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})
  set(package_dir "${prefix}/${INSTALL_CMAKEDIR}")
  foreach(file IN ITEMS
      "include/optaro/optaro.hpp" "include/optaro/version.hpp"
      "${INSTALL_CMAKEDIR}/optaroConfig.cmake" "${INSTALL_CMAKEDIR}/optaroConfigVersion.cmake"
      "${INSTALL_CMAKEDIR}/optaroTargets.cmake")
    if(NOT EXISTS "${prefix}/${file}")
      message(FATAL_ERROR "[install] ${file} is missing from the installed package")
    endif()
  endforeach()
  list(APPEND project_args "-DCMAKE_PREFIX_PATH=${prefix}")
elseif(MODE STREQUAL "build-tree")
  set(package_dir "${BUILD_DIR}")
  list(APPEND project_args "-Doptaro_DIR=${BUILD_DIR}")
else()
  message(FATAL_ERROR "ConsumerTest: MODE must be install or build-tree, not '${MODE}'")
endif()

# ---- the consumer: configure, check which optaro it found, build, run --------------------------------
set(consumer_build "${WORK_DIR}/consumer")
string(REPLACE "," ";" built_components "${BUILT_COMPONENTS}")
run(consumer-configure SUCCESS out "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/consumer" -B "${consumer_build}"
    ${project_args} "-DOPTARO_REQUESTED_VERSION=${EXPECTED_VERSION}" "-DOPTARO_CONSUMER_COMPONENTS=${BUILT_COMPONENTS}")
file(STRINGS "${consumer_build}/CMakeCache.txt" found_dir REGEX "^optaro_DIR:")
string(REGEX REPLACE "^optaro_DIR:[A-Z]+=" "" found_dir "${found_dir}")
file(REAL_PATH "${found_dir}" found_dir)
file(REAL_PATH "${package_dir}" package_dir)
if(NOT found_dir STREQUAL package_dir)
  message(FATAL_ERROR "[consumer-configure] found optaro at '${found_dir}', expected '${package_dir}'")
endif()
run(consumer-build SUCCESS out "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})
file(GLOB_RECURSE consumer_exe "${consumer_build}/optaro_consumer" "${consumer_build}/optaro_consumer.exe")
if(NOT consumer_exe)
  message(FATAL_ERROR "[consumer-build] no optaro_consumer executable under ${consumer_build}")
endif()
list(GET consumer_exe 0 consumer_exe)
run(consumer-run SUCCESS out "${consumer_exe}")
message(STATUS "${out}")
foreach(component IN LISTS built_components)
  file(GLOB_RECURSE component_exe "${consumer_build}/optaro_${component}_consumer")
  if(NOT component_exe)
    message(FATAL_ERROR "[consumer-build] no optaro_${component}_consumer executable under ${consumer_build}")
  endif()
  list(GET component_exe 0 component_exe)
  run(consumer-${component}-run SUCCESS out "${component_exe}")
  message(STATUS "${out}")
endforeach()

if(NOT MODE STREQUAL "install")
  return()
endif()

# ---- examples/ builds standalone against the installed package ---------------------------------------
set(examples_build "${WORK_DIR}/examples")
run(examples-configure SUCCESS out "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples" -B "${examples_build}" ${project_args})
run(examples-build SUCCESS out "${CMAKE_COMMAND}" --build "${examples_build}" ${config_args})

# ---- find_package requests that must fail cleanly, or succeed ------------------------------------------
# Configure-only probes. "Cleanly" means: refused through optaro_FOUND / optaro_NOT_FOUND_MESSAGE,
# with the reason, and no CMake error raised from inside the package's own files.
set(probe_source "${SOURCE_DIR}/tests/consumer/find_probe")
set(probe_args -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
set(not_clean "CMake Error at [^ ]*optaro(Config|ConfigVersion|Targets)\\.cmake")

run(probe-unknown-component FAILURE out "${CMAKE_COMMAND}" -S "${probe_source}" -B "${WORK_DIR}/probe-1"
    ${probe_args} -DPROBE_REQUIRED=nosuch)
require_match(probe-unknown-component "${out}" "'nosuch': unknown component")
require_match(probe-unknown-component "${out}" "optaro_FOUND to FALSE")
require_no_match(probe-unknown-component "${out}" "${not_clean}")

# Every known component: required, it is found when built and refused cleanly when not.
foreach(component IN ITEMS redis mongo)
  if(component IN_LIST built_components)
    run(probe-built-${component} SUCCESS out "${CMAKE_COMMAND}" -S "${probe_source}" -B "${WORK_DIR}/probe-${component}"
        ${probe_args} -DPROBE_REQUIRED=${component})
    require_match(probe-built-${component} "${out}" "optaro_${component}_FOUND=TRUE")
  else()
    run(probe-unbuilt-${component} FAILURE out "${CMAKE_COMMAND}" -S "${probe_source}" -B "${WORK_DIR}/probe-${component}"
        ${probe_args} -DPROBE_REQUIRED=${component})
    require_match(probe-unbuilt-${component} "${out}" "'${component}': not built in this installation")
    require_no_match(probe-unbuilt-${component} "${out}" "${not_clean}")
  endif()
endforeach()

run(probe-optional-components SUCCESS out "${CMAKE_COMMAND}" -S "${probe_source}" -B "${WORK_DIR}/probe-3"
    ${probe_args} "-DPROBE_OPTIONAL=redis,mongo,nosuch")
foreach(component IN ITEMS redis mongo)
  if(component IN_LIST built_components)
    require_match(probe-optional-components "${out}" "optaro_${component}_FOUND=TRUE")
  else()
    require_match(probe-optional-components "${out}" "optaro_${component}_FOUND=FALSE")
  endif()
endforeach()
require_match(probe-optional-components "${out}" "optaro_nosuch_FOUND=FALSE")

# The version file: same major.minor is compatible; the next minor (0.x) or major is not.
string(REPLACE "." ";" parts "${EXPECTED_VERSION}")
list(GET parts 0 major)
list(GET parts 1 minor)
math(EXPR next_minor "${minor} + 1")
math(EXPR next_major "${major} + 1")
run(probe-same-minor SUCCESS out "${CMAKE_COMMAND}" -S "${probe_source}" -B "${WORK_DIR}/probe-4"
    ${probe_args} "-DPROBE_VERSION=${major}.${minor}")
require_match(probe-same-minor "${out}" "probe: found optaro ${EXPECTED_VERSION}")
if(major EQUAL 0)
  run(probe-next-minor FAILURE out "${CMAKE_COMMAND}" -S "${probe_source}" -B "${WORK_DIR}/probe-5"
      ${probe_args} "-DPROBE_VERSION=${major}.${next_minor}")
  require_match(probe-next-minor "${out}" "compatible with requested version.*optaroConfig\\.cmake, version: ${EXPECTED_VERSION}")
endif()
run(probe-next-major FAILURE out "${CMAKE_COMMAND}" -S "${probe_source}" -B "${WORK_DIR}/probe-6"
    ${probe_args} "-DPROBE_VERSION=${next_major}.0")
require_match(probe-next-major "${out}" "compatible with requested version.*optaroConfig\\.cmake, version: ${EXPECTED_VERSION}")

message(STATUS "optaro ${EXPECTED_VERSION}: installed package, examples and find_package probes all as expected")
