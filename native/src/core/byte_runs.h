// Bytes that lie in several buffers and are written back to back: a record's payload as it arrived in
// network chunks. The engine hands them to the file in one gathered call (pwritev) instead of joining them
// in a buffer first; that join was a user-space copy of every staged byte on the replica server.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hvr {

struct ByteRun {
  const uint8_t* data;
  size_t size;
};

// Consecutive slices of the bytes of `runs`, taken front to back without copying.
class GatheredBytes {
 public:
  GatheredBytes(const ByteRun* runs, size_t count) : runs_(runs), count_(count) {}

  // The next `n` bytes as runs (views into the original buffers), replacing what `out` held. The caller
  // asks only for bytes the runs hold.
  void Take(uint64_t n, std::vector<ByteRun>* out) {
    out->clear();
    while (n > 0 && index_ < count_) {
      const ByteRun& run = runs_[index_];
      size_t here = size_t(std::min<uint64_t>(n, run.size - within_));
      if (here > 0) out->push_back({run.data + within_, here});
      n -= here;
      within_ += here;
      if (within_ == run.size) {
        ++index_;
        within_ = 0;
      }
    }
  }

 private:
  const ByteRun* runs_;
  size_t count_;
  size_t index_ = 0;
  size_t within_ = 0;
};

}  // namespace hvr
