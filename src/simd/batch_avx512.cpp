// The batch kernels for AVX-512F/DQ (8 doubles per vector). Built without -m flags like the rest of the
// library: the target pragma enables the instructions for the functions defined below it only, and
// batch.cpp calls them only when the CPU has them (simd::cpu_supports).
#include "dispatch.hpp"

#if OPTARO_SIMD_X86
// Every standard header the kernels use comes before the pragma, so that no standard-library code is
// compiled for the target (see vector_math.hpp).
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <utility>

#include <immintrin.h>

#include "../black_detail.hpp"
#include "../cody_erf.hpp"

#include <optaro/batch.hpp>
#include <optaro/pricing.hpp>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#endif

#define OPTARO_SIMD_LANES 8
#define OPTARO_SIMD_NAMESPACE avx512
#include "isa_entry_points.hpp"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // OPTARO_SIMD_X86
