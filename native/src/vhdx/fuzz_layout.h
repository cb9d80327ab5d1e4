// The compact image format of the fuzz harness (native/fuzz) and of the regression tests built from its
// findings: pieces of a VHDX file concatenated, each expanded back to its canonical offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vhdx/crc32c.h"
#include "vhdx/format.h"

namespace hvr::vhdx {

struct FuzzPiece {
  uint64_t file_offset;
  uint32_t length;
};

// Identifier, both headers, both region tables, the start of the log, metadata and BAT, and one sector
// bitmap/payload page: the parts a parser reads first.
inline constexpr FuzzPiece kFuzzPieces[] = {
    {0, 16},          {64 << 10, 4096},  {128 << 10, 4096}, {192 << 10, 4096}, {256 << 10, 4096},
    {1 << 20, 16384}, {2 << 20, 8192},   {3 << 20, 8192},   {4 << 20, 4096},
};
inline constexpr uint64_t kFuzzImageSize = 5ull << 20;

inline std::vector<uint8_t> ExpandFuzzImage(const uint8_t* data, size_t size) {
  std::vector<uint8_t> image(kFuzzImageSize, 0);
  size_t at = 0;
  for (const FuzzPiece& piece : kFuzzPieces) {
    for (uint32_t i = 0; i < piece.length && at < size; ++i) image[piece.file_offset + i] = data[at++];
  }
  // Bit 0 of the creator's first byte asks for re-sealed header and region-table checksums, so that
  // mutations also reach what lies behind them.
  if (size > 8 && (data[8] & 1)) {
    for (uint64_t at : {uint64_t(64 << 10), uint64_t(128 << 10)}) {
      Put32(image.data() + at + 4, Crc32cWithHole(image.data() + at, 4096, 4));
    }
    for (uint64_t at : {uint64_t(192 << 10), uint64_t(256 << 10)}) {
      Put32(image.data() + at + 4, Crc32cWithHole(image.data() + at, 65536, 4));
    }
  }
  return image;
}

}  // namespace hvr::vhdx
