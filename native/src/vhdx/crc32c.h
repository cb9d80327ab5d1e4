// CRC-32C (Castagnoli), the checksum of every VHDX header, region table and log entry.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hvr::vhdx {

// `crc` continues a previous call; start with 0.
uint32_t Crc32c(const void* data, size_t length, uint32_t crc = 0);

// Checksum of a structure whose 4-byte checksum field at `field_offset` counts as zero.
uint32_t Crc32cWithHole(const uint8_t* data, size_t length, size_t field_offset);

}  // namespace hvr::vhdx
