// What the BLAKE3 paths share: the constants of the specification and the one operation a SIMD path
// implements, compressing many inputs of whole 64-byte blocks side by side.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hvr::hash::blake3 {

constexpr size_t kBlockLen = 64;
constexpr size_t kChunkLen = 1024;

constexpr uint32_t kChunkStart = 1u << 0;
constexpr uint32_t kChunkEnd = 1u << 1;
constexpr uint32_t kParent = 1u << 2;
constexpr uint32_t kRoot = 1u << 3;

// The initialisation vector (the first 32 bits of the fractional parts of the square roots of the first
// eight primes, as in SHA-256).
constexpr uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                             0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// Message word order of each of the seven rounds: round r uses the specification's permutation applied r times.
constexpr uint8_t kSchedule[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},  {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},  {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},  {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

inline void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// Compresses `count` inputs of `blocks` whole 64-byte blocks each, all starting from the key words kIv,
// and writes each one's 32-byte chaining value to out + 32 × i. Input i has counter `counter + i` when
// `increment_counter` (chunks) or `counter` (parents). Every block gets `flags`; the first also
// `flags_start`, the last also `flags_end`.
using HashManyFn = void (*)(const uint8_t* const* inputs, size_t count, size_t blocks, uint64_t counter,
                            bool increment_counter, uint32_t flags, uint32_t flags_start, uint32_t flags_end,
                            uint8_t* out);

// One input after another, everywhere.
void HashManyPortable(const uint8_t* const* inputs, size_t count, size_t blocks, uint64_t counter,
                      bool increment_counter, uint32_t flags, uint32_t flags_start, uint32_t flags_end, uint8_t* out);
// Side by side in SIMD lanes (8 with AVX2, 16 with AVX-512), any count; defined where the compiler can target
// the instructions (GCC or Clang on x86-64), null elsewhere. Callers check the CPU first (blake3.cc).
extern const HashManyFn kHashManyAvx2;
extern const HashManyFn kHashManyAvx512;

}  // namespace hvr::hash::blake3
