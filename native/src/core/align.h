// Rounding to multiples of a unit (sectors, pages, blocks, direct-I/O alignments).
#pragma once

#include <cstdint>

namespace hvr {

inline uint64_t AlignDown(uint64_t value, uint64_t unit) { return value / unit * unit; }
inline uint64_t AlignUp(uint64_t value, uint64_t unit) { return (value + unit - 1) / unit * unit; }

}  // namespace hvr
