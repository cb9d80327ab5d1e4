// The portable way of File::CopyFrom: read a piece, write it, in a buffer of bounded size.
#include <algorithm>
#include <vector>

#include "core/file.h"

namespace hvr {

void CopyThroughBuffer(File& source, uint64_t source_offset, File& target, uint64_t offset, uint64_t length) {
  // 1 MiB: large enough that the calls cost little beside the copies, small enough for any pool thread.
  constexpr uint64_t kPiece = uint64_t(1) << 20;
  std::vector<uint8_t> buffer(size_t(std::min(length, kPiece)));
  while (length > 0) {
    const size_t n = size_t(std::min<uint64_t>(length, buffer.size()));
    source.ReadAt(source_offset, buffer.data(), n);
    target.WriteAt(offset, buffer.data(), n);
    source_offset += n;
    offset += n;
    length -= n;
  }
}

}  // namespace hvr
