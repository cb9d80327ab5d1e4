// The x86-64 SIMD paths of BLAKE3: AVX2 (eight inputs at once in 256-bit vectors) and AVX-512 (sixteen in
// 512-bit vectors), each the code of blake3_lanes.h compiled for that instruction set alone. blake3.cc
// picks one at run time from what the CPU and the OS support. Other compilers and CPUs: no SIMD path.
#include <cstdint>
#include <cstring>
#include <utility>

#include "hash/blake3_internal.h"

#if defined(__GNUC__) && defined(__x86_64__)

#if defined(__clang__)
#define HVR_TARGET_AVX2 _Pragma("clang attribute push(__attribute__((target(\"avx2\"))), apply_to = function)")
#define HVR_TARGET_AVX512 _Pragma("clang attribute push(__attribute__((target(\"avx512f\"))), apply_to = function)")
#define HVR_TARGET_END _Pragma("clang attribute pop")
#else
#define HVR_TARGET_AVX2 _Pragma("GCC push_options") _Pragma("GCC target(\"avx2\")")
#define HVR_TARGET_AVX512 _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f\")")
#define HVR_TARGET_END _Pragma("GCC pop_options")
#endif

// Each instruction set gets its own copy of the template (a namespace each), instantiated under its target.
namespace {
HVR_TARGET_AVX2
namespace avx2 {
#include "hash/blake3_lanes.h"
template struct Lanes<8>;
}  // namespace avx2
HVR_TARGET_END

HVR_TARGET_AVX512
namespace avx512 {
#include "hash/blake3_lanes.h"
template struct Lanes<16>;
}  // namespace avx512
HVR_TARGET_END
}  // namespace

const hvr::hash::blake3::HashManyFn hvr::hash::blake3::kHashManyAvx2 = avx2::Lanes<8>::HashMany;
const hvr::hash::blake3::HashManyFn hvr::hash::blake3::kHashManyAvx512 = avx512::Lanes<16>::HashMany;

#else
const hvr::hash::blake3::HashManyFn hvr::hash::blake3::kHashManyAvx2 = nullptr;
const hvr::hash::blake3::HashManyFn hvr::hash::blake3::kHashManyAvx512 = nullptr;
#endif
