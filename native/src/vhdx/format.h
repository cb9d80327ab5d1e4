// On-disk constants of MS-VHDX and little-endian field access. Offsets and names follow the spec.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "core/align.h"
#include "vhdx/guid.h"

namespace hvr::vhdx {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * 1024;
inline constexpr uint64_t kHeaderSectionSize = kMiB;
inline constexpr uint64_t kHeader1Offset = 64 * kKiB;
inline constexpr uint64_t kHeader2Offset = 128 * kKiB;
inline constexpr uint64_t kRegionTable1Offset = 192 * kKiB;
inline constexpr uint64_t kRegionTable2Offset = 256 * kKiB;
inline constexpr size_t kHeaderSize = 4096;
inline constexpr size_t kRegionTableSize = 64 * kKiB;
inline constexpr size_t kMetadataTableSize = 64 * kKiB;
inline constexpr uint32_t kMaxTableEntries = 2047;
inline constexpr uint64_t kMaxVirtualSize = 64ull * 1024 * 1024 * 1024 * 1024;
inline constexpr uint32_t kMinBlockSize = 1 * kMiB;
inline constexpr uint32_t kMaxBlockSize = 256 * kMiB;
inline constexpr uint64_t kSectorBitmapBlockSize = kMiB;
inline constexpr uint64_t kSectorsPerChunk = 1ull << 23;
inline constexpr uint64_t kLogSector = 4096;
// Nothing below this offset may be written through the log (file identifier and headers).
inline constexpr uint64_t kLoggableMinOffset = 192 * kKiB;

// BAT entry states (MS-VHDX 2.5.1).
enum : uint8_t {
  kPayloadNotPresent = 0,
  kPayloadUndefined = 1,
  kPayloadZero = 2,
  kPayloadUnmapped = 3,
  kPayloadUnmappedDraft = 5,  // 0.95-draft files; read like UNMAPPED
  kPayloadFullyPresent = 6,
  kPayloadPartiallyPresent = 7,
  kSbNotPresent = 0,
  kSbPresent = 6,
};
inline constexpr uint64_t kBatStateMask = 7;
inline constexpr uint64_t kBatReservedMask = 0xFFFF8ull;  // bits 3..19

// Metadata entry flags.
inline constexpr uint32_t kMetaIsUser = 1;
inline constexpr uint32_t kMetaIsVirtualDisk = 2;
inline constexpr uint32_t kMetaIsRequired = 4;

inline uint16_t Le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
inline uint32_t Le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t Le64(const uint8_t* p) { return uint64_t(Le32(p)) | uint64_t(Le32(p + 4)) << 32; }
inline void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline bool HasSignature(const uint8_t* p, const char* sig) { return std::memcmp(p, sig, std::strlen(sig)) == 0; }

inline bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Well-known GUIDs (MS-VHDX 2.2.3 / 2.6.2; "incomplete file" from Microsoft's openvmm).
Guid BatRegionGuid();
Guid MetadataRegionGuid();
Guid FileParametersGuid();
Guid VirtualDiskSizeGuid();
Guid Page83Guid();
Guid LogicalSectorSizeGuid();
Guid PhysicalSectorSizeGuid();
Guid ParentLocatorGuid();
Guid VhdxParentLocatorTypeGuid();
Guid IncompleteFileGuid();

// UTF-16LE (as stored in parent locators and the creator string) to UTF-8 and back.
std::string Utf16LeToUtf8(const uint8_t* p, size_t bytes);
std::string Utf8ToUtf16Le(const std::string& text);

}  // namespace hvr::vhdx
