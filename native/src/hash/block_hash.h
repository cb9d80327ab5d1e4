// The addon's fast hashes by the names JS uses for them (src/native/block-hash.ts): BLAKE3 and XXH3-128, each
// digest in a 32-byte slot (XXH3-128: its 16 bytes, then 16 zero bytes), the layout of a manifest and of the
// payload digests a read gives with its data (src/protocol/record-hash.ts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace hvr::hash {

enum class BlockHash { kBlake3, kXxh128 };

constexpr size_t kDigestSlot = 32;

// 'blake3' or 'xxh128'; nothing for any other name.
std::optional<BlockHash> BlockHashNamed(const std::string& name);

// The digest of `input` in one slot.
void DigestSlot(BlockHash algorithm, const uint8_t* input, size_t length, uint8_t slot[kDigestSlot]);

// The digest of every `block_size` block of `input` (the last may be shorter), a slot each, in order.
void DigestSlots(BlockHash algorithm, const uint8_t* input, size_t length, size_t block_size, uint8_t* slots);

}  // namespace hvr::hash
