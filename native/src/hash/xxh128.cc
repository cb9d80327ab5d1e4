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
namespace {

void Canonical(XXH128_hash_t hash, uint8_t out[kXxh128DigestSize]) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  std::memcpy(out, canonical.digest, kXxh128DigestSize);
}

}  // namespace

void Xxh128(const uint8_t* input, size_t length, uint8_t out[kXxh128DigestSize]) {
  Canonical(XXH3_128bits(input, length), out);
}

void Xxh128Pieces(const std::vector<ByteRun>& pieces, uint8_t out[kXxh128DigestSize]) {
  // One piece (a record read or received whole) takes the one-shot path, which is faster for short inputs.
  if (pieces.size() == 1) {
    Xxh128(pieces[0].data, pieces[0].size, out);
    return;
  }
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_128bits_reset(&state);
  for (const auto& [data, size] : pieces) XXH3_128bits_update(&state, data, size);
  Canonical(XXH3_128bits_digest(&state), out);
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
