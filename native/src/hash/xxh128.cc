// See xxh128.h. XXH_INLINE_ALL compiles xxHash into this file (no shared library to find or ship, the same
// for the Linux build, node-gyp and the mingw cross-build); its SIMD width is the target's baseline (SSE2 on
// x86-64), which already hashes far faster than memory is copied out of the page cache.
#include "hash/xxh128.h"

#include <algorithm>
#include <cstring>

#include "core/native_error.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace hvr::hash {

void Xxh128(const uint8_t* input, size_t length, uint8_t out[kXxh128DigestSize]) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits(input, length));
  std::memcpy(out, canonical.digest, kXxh128DigestSize);
}

void Xxh128Blocks(const uint8_t* input, size_t length, size_t block_size, uint8_t* digests, size_t slot_size) {
  if (block_size == 0) ThrowError(codes::kInvalidArgument, "the XXH3-128 block size must be positive");
  if (slot_size < kXxh128DigestSize) ThrowError(codes::kInvalidArgument, "an XXH3-128 digest needs a slot of at least 16 bytes");
  for (size_t at = 0, i = 0; at < length; at += block_size, i++) {
    uint8_t* slot = digests + slot_size * i;
    Xxh128(input + at, std::min(block_size, length - at), slot);
    std::memset(slot + kXxh128DigestSize, 0, slot_size - kXxh128DigestSize);
  }
}

}  // namespace hvr::hash
