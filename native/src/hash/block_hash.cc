// See block_hash.h.
#include "hash/block_hash.h"

#include <cstring>

#include "hash/blake3.h"
#include "hash/xxh128.h"

namespace hvr::hash {

static_assert(kBlake3DigestSize == kDigestSlot, "a BLAKE3 digest fills a slot");
static_assert(kXxh128DigestSize <= kDigestSlot, "an XXH3-128 digest fits a slot");

std::optional<BlockHash> BlockHashNamed(const std::string& name) {
  if (name == "blake3") return BlockHash::kBlake3;
  if (name == "xxh128") return BlockHash::kXxh128;
  return std::nullopt;
}

void DigestSlot(BlockHash algorithm, const uint8_t* input, size_t length, uint8_t slot[kDigestSlot]) {
  if (algorithm == BlockHash::kBlake3) {
    Blake3(input, length, slot);
    return;
  }
  Xxh128(input, length, slot);
  std::memset(slot + kXxh128DigestSize, 0, kDigestSlot - kXxh128DigestSize);
}

void DigestSlots(BlockHash algorithm, const uint8_t* input, size_t length, size_t block_size, uint8_t* slots) {
  if (algorithm == BlockHash::kBlake3) {
    Blake3Blocks(input, length, block_size, slots);
    return;
  }
  Xxh128Blocks(input, length, block_size, slots, kDigestSlot);
}

}  // namespace hvr::hash
