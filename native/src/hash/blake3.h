// BLAKE3 (the default hash mode, 32-byte output), written from the specification
// (github.com/BLAKE3-team/BLAKE3-specs). The manifest hash of a resync: cryptographic like SHA-256 but
// several times faster a core, because the 1 KiB chunks of a block are compressed side by side in SIMD
// lanes (AVX-512 or AVX2, chosen at run time; portable code everywhere else).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hvr::hash {

constexpr size_t kBlake3DigestSize = 32;

// The code paths that can compress chunks; kAuto takes the fastest this CPU and OS support.
enum class Blake3Path { kAuto, kPortable, kAvx2, kAvx512 };

// The paths usable here, fastest first (kPortable always last), for tests that check each against the others.
std::vector<Blake3Path> Blake3Paths();
const char* Blake3PathName(Blake3Path path);

void Blake3(const uint8_t* input, size_t length, uint8_t out[kBlake3DigestSize], Blake3Path path = Blake3Path::kAuto);

// The digest of every `block_size` block of `input` (the last may be shorter), 32 bytes each, in order.
void Blake3Blocks(const uint8_t* input, size_t length, size_t block_size, uint8_t* digests,
                  Blake3Path path = Blake3Path::kAuto);

}  // namespace hvr::hash
