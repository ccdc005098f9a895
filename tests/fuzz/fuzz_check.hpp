#pragma once
// What the fuzz targets share: FUZZ_CHECK(condition, what) reports a violated invariant and traps, so
// that libFuzzer records the input as a crash (crash-<sha1>) like any sanitizer finding.
#include <cstdio>

#define FUZZ_CHECK(condition, what)                                                                              \
  do {                                                                                                           \
    if (!(condition)) {                                                                                          \
      std::fprintf(stderr, "fuzz invariant violated: %s (%s) at %s:%d\n", what, #condition, __FILE__, __LINE__); \
      __builtin_trap();                                                                                          \
    }                                                                                                            \
  } while (false)
