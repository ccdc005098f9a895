# Compiler-side set-up shared by every optaro target: ccache, warnings, sanitizers.
# Nothing here is ever pushed onto a consumer: warnings are PRIVATE to our targets, and
# warnings-as-errors is left to CMake's own CMAKE_COMPILE_WARNING_AS_ERROR, which only the `dev`
# preset turns on (a newer compiler with a new warning must not break someone else's build).
include_guard(GLOBAL)

# ---- ccache --------------------------------------------------------------------------------------
# Only when we are the top-level project and nobody chose a launcher (a -D or the environment
# variable of the same name, which CMake also honours). -DCMAKE_CXX_COMPILER_LAUNCHER= turns it off.
if(PROJECT_IS_TOP_LEVEL AND NOT DEFINED CMAKE_CXX_COMPILER_LAUNCHER
   AND NOT DEFINED ENV{CMAKE_CXX_COMPILER_LAUNCHER})
  find_program(OPTARO_CCACHE_PROGRAM ccache)
  mark_as_advanced(OPTARO_CCACHE_PROGRAM)
  if(OPTARO_CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER "${OPTARO_CCACHE_PROGRAM}")
  endif()
endif()

# ---- warnings ------------------------------------------------------------------------------------
# optaro_target_warnings(<target>...): the warning set of optaro's own code. -Wconversion and
# -Wsign-conversion are on because silent double<->integer and size_t<->int conversions are exactly
# the bugs a numerics library cannot afford. Engineers adding targets (bench/, bindings/python/)
# call this on them too.
function(optaro_target_warnings)
  foreach(target IN LISTS ARGN)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "MSVC")
      target_compile_options(${target} PRIVATE /W4 /permissive-)
    else()
      target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wpedantic
        -Wconversion -Wsign-conversion
        -Wshadow -Wold-style-cast -Wcast-align -Wnon-virtual-dtor -Woverloaded-virtual
        -Wformat=2 -Wimplicit-fallthrough -Wundef)
    endif()
  endforeach()
endfunction()

# ---- sanitizers ----------------------------------------------------------------------------------
# OPTARO_SANITIZE: a list of -fsanitize= values, e.g. "address;undefined" (the asan-ubsan preset).
# Applied to every target of this directory tree (library, tests, examples, benchmarks), because a
# sanitized library linked into unsanitized code misses most of what it should catch. UBSan is made
# fatal so that a finding fails the test instead of scrolling past in its log.
set(OPTARO_SANITIZE "" CACHE STRING "Sanitizers for all optaro targets, e.g. address;undefined")
if(OPTARO_SANITIZE)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "MSVC")
    message(FATAL_ERROR "optaro: OPTARO_SANITIZE is implemented for GCC and Clang only")
  endif()
  string(REPLACE "," ";" _optaro_sanitizers "${OPTARO_SANITIZE}")
  list(JOIN _optaro_sanitizers "," _optaro_sanitizers)
  set(OPTARO_SANITIZER_FLAGS
      "-fsanitize=${_optaro_sanitizers}" -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options(${OPTARO_SANITIZER_FLAGS})
  add_link_options("-fsanitize=${_optaro_sanitizers}")
  unset(_optaro_sanitizers)
endif()
