// XXH3-128 (xxHash's 128-bit XXH3, seed 0) from Debian's libxxhash-dev, used header-only: the comparison hash
// of a resync's manifests and a record checksum of replication logs (format version 4). Not cryptographic: it
// finds the blocks where two copies of a disk differ (data neither side chose to collide) and catches data
// damaged by storage, memory or bugs, several times faster a core than BLAKE3. Why that is acceptable, and
// where it is not used, is in docs/replication-protocol.md ("Record checksums", "Comparing by hash").
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/byte_runs.h"

namespace hvr::hash {

constexpr size_t kXxh128DigestSize = 16;

// The digest in xxHash's canonical form (big-endian high half, then low half: what `xxhsum -H2` prints).
void Xxh128(const uint8_t* input, size_t length, uint8_t out[kXxh128DigestSize]);

// The digest of every `block_size` block of `input` (the last may be shorter), in order, each in a slot of
// `slot_size` bytes (at least 16): the digest, then zero bytes to the end of the slot.
void Xxh128Blocks(const uint8_t* input, size_t length, size_t block_size, uint8_t* digests, size_t slot_size);

// The digest of `pieces` back to back (a record's payload as it arrived in network chunks), hashed where they
// lie: XXH3 streams, so unlike a one-shot hash nothing is gathered into one buffer first.
void Xxh128Pieces(const std::vector<ByteRun>& pieces, uint8_t out[kXxh128DigestSize]);

}  // namespace hvr::hash
