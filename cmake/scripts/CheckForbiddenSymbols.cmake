# cmake -DNM=<nm> -DLIBRARY=<path> [-DREADELF=<readelf>] -P CheckForbiddenSymbols.cmake
#
# Fails when the library references a network client library: hiredis (redis*, freeReplyObject),
# libmongoc/libbson (mongoc_*, bson_*) or the C++ drivers built on them. The optaro core does no
# I/O (ARCHITECTURE.md); only the optional optaro::redis / optaro::mongo components may.
#
# A check that reads nothing passes trivially, so the script also requires to see optaro's own
# symbols (optaro::bs_price) before it believes the table it read.

foreach(var IN ITEMS NM LIBRARY)
  if(NOT ${var})
    message(FATAL_ERROR "CheckForbiddenSymbols: ${var} is not set")
  endif()
endforeach()
if(NOT EXISTS "${LIBRARY}")
  message(FATAL_ERROR "CheckForbiddenSymbols: ${LIBRARY} does not exist (is the library built?)")
endif()

# -C demangles, so C++ names read as optaro::... and cannot be mistaken for a C API's prefix.
execute_process(
  COMMAND "${NM}" -C "${LIBRARY}"
  OUTPUT_VARIABLE symbols
  ERROR_VARIABLE nm_errors
  RESULT_VARIABLE nm_result)
if(NOT nm_result EQUAL 0)
  message(FATAL_ERROR "CheckForbiddenSymbols: '${NM} -C ${LIBRARY}' failed (${nm_result}):\n${nm_errors}")
endif()
if(NOT symbols MATCHES "optaro::bs_price")
  message(FATAL_ERROR "CheckForbiddenSymbols: no optaro::bs_price in the symbol table of ${LIBRARY}; "
                      "the check would prove nothing")
endif()

# One symbol per line: "<address> <type> <name>", or "<spaces> U <name>" for undefined references.
# The name must start with the forbidden prefix, right after the type letter.
set(forbidden "[ \t][A-Za-z?-] (redis[A-Z][A-Za-z]*|freeReplyObject|mongoc_[a-z_]+|bson_[a-z_]+|sw::redis::|mongocxx::|bsoncxx::)")
string(REGEX MATCHALL "${forbidden}" hits "${symbols}")
if(hits)
  list(REMOVE_DUPLICATES hits)
  list(JOIN hits "\n" hits)
  message(FATAL_ERROR "The core library ${LIBRARY} references network client symbols:\n${hits}")
endif()

# A shared core must not pull the libraries in either, even without naming a symbol.
if(READELF AND LIBRARY MATCHES "\\.so(\\.|$)")
  execute_process(COMMAND "${READELF}" -d "${LIBRARY}" OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND dynamic MATCHES "NEEDED[^\n]*(libhiredis|libmongoc|libbson)")
    message(FATAL_ERROR "The core library ${LIBRARY} depends on ${CMAKE_MATCH_1}")
  endif()
endif()

string(REGEX MATCHALL "\n" lines "${symbols}")
list(LENGTH lines count)
message(STATUS "${LIBRARY}: ${count} symbol lines read, no hiredis/libmongoc/libbson reference")
