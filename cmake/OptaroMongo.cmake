# The optaro::mongo component (include/optaro/mongo, src/mongo): the engine's document store over
# MongoDB, with the official C driver (Debian's libmongoc-dev 1.23, CMake package mongoc-1.0). Included
# by the top-level CMakeLists.txt unless OPTARO_WITH_MONGO is OFF.
include_guard(GLOBAL)

find_package(mongoc-1.0 1.23 CONFIG QUIET)
if(NOT TARGET mongo::mongoc_shared)
  if(OPTARO_WITH_MONGO STREQUAL "AUTO")
    message(STATUS "optaro: libmongoc not found (Debian: libmongoc-dev); the mongo component is not built")
    return()
  endif()
  message(FATAL_ERROR
    "optaro: OPTARO_WITH_MONGO=${OPTARO_WITH_MONGO} needs libmongoc >= 1.23 (CMake package mongoc-1.0).\n"
    "On Debian/Ubuntu install it with:\n    sudo apt-get install libmongoc-dev\n"
    "or run `bash .ci/install-deps.sh`; -DOPTARO_WITH_MONGO=OFF builds optaro without the component.")
endif()

file(GLOB _optaro_mongo_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/mongo/*.cpp")
file(GLOB _optaro_mongo_headers CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/include/optaro/mongo/*.hpp")
if(NOT _optaro_mongo_sources)
  return()  # a checkout without the component's sources
endif()
add_library(optaro_mongo ${_optaro_mongo_sources})
add_library(optaro::mongo ALIAS optaro_mongo)
target_sources(optaro_mongo
  PUBLIC FILE_SET HEADERS BASE_DIRS "${PROJECT_SOURCE_DIR}/include" FILES ${_optaro_mongo_headers})
# libmongoc is private: no libmongoc or libbson type is in a public header. A static optaro_mongo still
# needs it at link time, so optaro-mongo.cmake re-finds it.
target_link_libraries(optaro_mongo PUBLIC optaro PRIVATE mongo::mongoc_shared)
# nlohmann/json (header-only) for the JSON side of documents, as in the core.
target_include_directories(optaro_mongo SYSTEM PRIVATE
  $<TARGET_PROPERTY:nlohmann_json::nlohmann_json,INTERFACE_INCLUDE_DIRECTORIES>)
optaro_target_warnings(optaro_mongo)
set_target_properties(optaro_mongo PROPERTIES
  EXPORT_NAME mongo
  OUTPUT_NAME optaro-mongo
  CXX_EXTENSIONS OFF
  POSITION_INDEPENDENT_CODE ON
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
list(APPEND OPTARO_BUILT_COMPONENTS mongo)
unset(_optaro_mongo_sources)
unset(_optaro_mongo_headers)
