# The optaro::redis component (include/optaro/redis, src/redis): the engine's ports over Redis, with
# hiredis. Included by the top-level CMakeLists.txt unless OPTARO_WITH_REDIS is OFF. Debian's hiredis
# 0.14 ships a pkg-config file but no CMake package, so it is found through pkg-config.
include_guard(GLOBAL)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(OPTARO_HIREDIS QUIET IMPORTED_TARGET hiredis)
endif()
if(NOT TARGET PkgConfig::OPTARO_HIREDIS)
  if(OPTARO_WITH_REDIS STREQUAL "AUTO")
    message(STATUS "optaro: hiredis not found (Debian: libhiredis-dev); the redis component is not built")
    return()
  endif()
  message(FATAL_ERROR
    "optaro: OPTARO_WITH_REDIS=${OPTARO_WITH_REDIS} needs hiredis, found through pkg-config.\n"
    "On Debian/Ubuntu install it with:\n    sudo apt-get install libhiredis-dev pkg-config\n"
    "or run `bash .ci/install-deps.sh`; -DOPTARO_WITH_REDIS=OFF builds optaro without the component.")
endif()

file(GLOB _optaro_redis_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/redis/*.cpp")
file(GLOB _optaro_redis_headers CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/include/optaro/redis/*.hpp")
if(NOT _optaro_redis_sources)
  return()  # a checkout without the component's sources
endif()
add_library(optaro_redis ${_optaro_redis_sources})
add_library(optaro::redis ALIAS optaro_redis)
target_sources(optaro_redis
  PUBLIC FILE_SET HEADERS BASE_DIRS "${PROJECT_SOURCE_DIR}/include" FILES ${_optaro_redis_headers})
# hiredis is private: no hiredis type is in a public header. A static optaro_redis still carries it into
# consumers' link lines, so optaro-redis.cmake re-finds it.
target_link_libraries(optaro_redis PUBLIC optaro PRIVATE PkgConfig::OPTARO_HIREDIS)
optaro_target_warnings(optaro_redis)
set_target_properties(optaro_redis PROPERTIES
  EXPORT_NAME redis
  OUTPUT_NAME optaro-redis
  CXX_EXTENSIONS OFF
  POSITION_INDEPENDENT_CODE ON
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
list(APPEND OPTARO_BUILT_COMPONENTS redis)
unset(_optaro_redis_sources)
unset(_optaro_redis_headers)
