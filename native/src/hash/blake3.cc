// BLAKE3's tree over one input and the choice of path; the compression function itself is portable here
// and wide in blake3_lanes.h. See blake3.h.
#include "hash/blake3.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/native_error.h"
#include "hash/blake3_internal.h"

namespace hvr::hash {
namespace blake3 {
namespace {

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline void G(uint32_t* v, int a, int b, int c, int d, uint32_t x, uint32_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = Rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = Rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = Rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = Rotr(v[b] ^ v[c], 7);
}

// One compression, keeping the first half of the output: the new chaining value (or the 32-byte digest).
void Compress(uint32_t cv[8], const uint8_t block[kBlockLen], uint32_t block_len, uint64_t counter, uint32_t flags) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++) m[i] = Load32(block + 4 * i);
  uint32_t v[16] = {cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
                    kIv[0], kIv[1], kIv[2], kIv[3], static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32),
                    block_len, flags};
  for (const uint8_t* s : kSchedule) {
    G(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    G(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    G(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    G(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    G(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    G(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    G(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    G(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; i++) cv[i] = v[i] ^ v[i + 8];
}

void StoreCv(const uint32_t cv[8], uint8_t* out) {
  for (int i = 0; i < 8; i++) Store32(out + 4 * i, cv[i]);
}

// The chaining value (or, with kRoot in `extra`, the digest) of one chunk of 0..1024 bytes; a short last
// block is zero-padded and says its length.
void Chunk(const uint8_t* input, size_t length, uint64_t counter, uint32_t extra, uint8_t out[32]) {
  uint32_t cv[8];
  std::memcpy(cv, kIv, sizeof cv);
  const size_t blocks = length == 0 ? 1 : (length + kBlockLen - 1) / kBlockLen;
  for (size_t b = 0; b < blocks; b++) {
    uint8_t block[kBlockLen] = {};
    const size_t take = std::min(kBlockLen, length - b * kBlockLen);
    if (take > 0) std::memcpy(block, input + b * kBlockLen, take);
    uint32_t flags = (b == 0 ? kChunkStart : 0) | (b + 1 == blocks ? kChunkEnd | extra : 0);
    Compress(cv, block, static_cast<uint32_t>(take), counter, flags);
  }
  StoreCv(cv, out);
}

// Scratch of the chaining values, per thread: hashing runs on the libuv pool, one block at a time.
struct Scratch {
  std::vector<uint8_t> cvs;
  std::vector<uint8_t> next;
  std::vector<const uint8_t*> inputs;
};

void HashOne(const uint8_t* input, size_t length, uint8_t out[32], HashManyFn many, Scratch& scratch) {
  if (length <= kChunkLen) {
    Chunk(input, length, 0, kRoot, out);
    return;
  }
  size_t count = (length + kChunkLen - 1) / kChunkLen;
  const size_t full = length / kChunkLen;  // whole chunks; the last of `count` may be partial
  scratch.cvs.resize(count * 32);
  scratch.next.resize(count * 32);
  scratch.inputs.resize(count);
  for (size_t i = 0; i < full; i++) scratch.inputs[i] = input + i * kChunkLen;
  many(scratch.inputs.data(), full, kChunkLen / kBlockLen, 0, true, 0, kChunkStart, kChunkEnd, scratch.cvs.data());
  if (full < count) Chunk(input + full * kChunkLen, length - full * kChunkLen, full, 0, scratch.cvs.data() + full * 32);
  // Pairing neighbours level by level, an odd last one carried up, builds the specification's tree (each
  // left subtree the largest power of two of chunks that leaves the right one non-empty).
  while (count > 2) {
    const size_t pairs = count / 2;
    for (size_t j = 0; j < pairs; j++) scratch.inputs[j] = scratch.cvs.data() + 64 * j;
    many(scratch.inputs.data(), pairs, 1, 0, false, kParent, 0, 0, scratch.next.data());
    if (count % 2 != 0) std::memcpy(scratch.next.data() + pairs * 32, scratch.cvs.data() + (count - 1) * 32, 32);
    count = pairs + count % 2;
    std::swap(scratch.cvs, scratch.next);
  }
  uint32_t cv[8];
  std::memcpy(cv, kIv, sizeof cv);
  Compress(cv, scratch.cvs.data(), kBlockLen, 0, kParent | kRoot);
  StoreCv(cv, out);
}

bool Available(Blake3Path path) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (path == Blake3Path::kAvx512) return kHashManyAvx512 != nullptr && __builtin_cpu_supports("avx512f");
  if (path == Blake3Path::kAvx2) return kHashManyAvx2 != nullptr && __builtin_cpu_supports("avx2");
#endif
  return path == Blake3Path::kPortable;
}

HashManyFn Resolve(Blake3Path path) {
  if (path == Blake3Path::kAuto) path = Blake3Paths().front();
  if (!Available(path)) ThrowError(codes::kNotSupported, std::string("the BLAKE3 path ") + Blake3PathName(path) + " is not available on this CPU or build");
  switch (path) {
    case Blake3Path::kAvx512: return kHashManyAvx512;
    case Blake3Path::kAvx2: return kHashManyAvx2;
    default: return HashManyPortable;
  }
}

}  // namespace

void HashManyPortable(const uint8_t* const* inputs, size_t count, size_t blocks, uint64_t counter,
                      bool increment_counter, uint32_t flags, uint32_t flags_start, uint32_t flags_end, uint8_t* out) {
  for (size_t i = 0; i < count; i++) {
    uint32_t cv[8];
    std::memcpy(cv, kIv, sizeof cv);
    for (size_t b = 0; b < blocks; b++) {
      const uint32_t block_flags = flags | (b == 0 ? flags_start : 0) | (b + 1 == blocks ? flags_end : 0);
      Compress(cv, inputs[i] + b * kBlockLen, kBlockLen, counter + (increment_counter ? i : 0), block_flags);
    }
    StoreCv(cv, out + 32 * i);
  }
}

}  // namespace blake3

std::vector<Blake3Path> Blake3Paths() {
  std::vector<Blake3Path> paths;
  for (Blake3Path path : {Blake3Path::kAvx512, Blake3Path::kAvx2, Blake3Path::kPortable}) {
    if (blake3::Available(path)) paths.push_back(path);
  }
  return paths;
}

const char* Blake3PathName(Blake3Path path) {
  switch (path) {
    case Blake3Path::kAvx512: return "avx512";
    case Blake3Path::kAvx2: return "avx2";
    case Blake3Path::kPortable: return "portable";
    default: return "auto";
  }
}

void Blake3(const uint8_t* input, size_t length, uint8_t out[kBlake3DigestSize], Blake3Path path) {
  static thread_local blake3::Scratch scratch;
  blake3::HashOne(input, length, out, blake3::Resolve(path), scratch);
}

void Blake3Blocks(const uint8_t* input, size_t length, size_t block_size, uint8_t* digests, Blake3Path path) {
  if (block_size == 0) ThrowError(codes::kInvalidArgument, "the BLAKE3 block size must be positive");
  static thread_local blake3::Scratch scratch;
  const blake3::HashManyFn many = blake3::Resolve(path);
  for (size_t at = 0, i = 0; at < length; at += block_size, i++) {
    blake3::HashOne(input + at, std::min(block_size, length - at), digests + 32 * i, many, scratch);
  }
}

}  // namespace hvr::hash
