// The virtdisk.dll functions the RCT tracker calls, as an abstract table with portable types, so the
// loop logic in rct_session.cc runs unchanged against Windows (platform/win/rct_virtdisk_win.cc) and
// against the documented-behaviour fake (fake_virtdisk.cc) that the Linux tests drive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace hvr::rct {

using VdHandle = void*;

// Win32 error values the tracker must recognise. The ERROR_VHD_* / ERROR_CTLOG_* values come from the
// Windows SDK's winerror.h (mingw-w64 does not define them).
namespace err {
inline constexpr uint32_t kSuccess = 0;
inline constexpr uint32_t kFileNotFound = 2;
inline constexpr uint32_t kInvalidHandle = 6;
inline constexpr uint32_t kInvalidParameter = 87;
inline constexpr uint32_t kInsufficientBuffer = 122;
inline constexpr uint32_t kMoreData = 234;
inline constexpr uint32_t kCtlogTrackingNotInitialized = 0xC03A0020;
inline constexpr uint32_t kCtlogLogfileSizeExceededMaxsize = 0xC03A0021;
inline constexpr uint32_t kCtlogVhdChangedOffline = 0xC03A0022;
inline constexpr uint32_t kCtlogInvalidTrackingState = 0xC03A0023;
inline constexpr uint32_t kCtlogInconsistentTrackingFile = 0xC03A0024;
inline constexpr uint32_t kVhdInvalidChangeTrackingId = 0xC03A0029;
inline constexpr uint32_t kVhdChangeTrackingDisabled = 0xC03A002A;
inline constexpr uint32_t kVhdMissingChangeTrackingInformation = 0xC03A0030;
}  // namespace err

// GET_VIRTUAL_DISK_INFO as laid out on x64 Windows: Version (u32) at 0, the union at 8.
namespace info {
inline constexpr uint32_t kVersionSize = 1;                 // GET_VIRTUAL_DISK_INFO_SIZE
inline constexpr uint32_t kVersionChangeTrackingState = 15;  // GET_VIRTUAL_DISK_INFO_CHANGE_TRACKING_STATE
inline constexpr uint32_t kStructSize = 32;                 // sizeof(GET_VIRTUAL_DISK_INFO)
// Size: VirtualSize u64 @8, PhysicalSize u64 @16, BlockSize u32 @24, SectorSize u32 @28.
inline constexpr uint32_t kSizeVirtualSize = 8;
inline constexpr uint32_t kSizePhysicalSize = 16;
inline constexpr uint32_t kSizeBlockSize = 24;
inline constexpr uint32_t kSizeSectorSize = 28;
// ChangeTrackingState: Enabled BOOL @8, NewerChanges BOOL @12, MostRecentId WCHAR[] (NUL-terminated) @16.
inline constexpr uint32_t kCtEnabled = 8;
inline constexpr uint32_t kCtNewerChanges = 12;
inline constexpr uint32_t kCtMostRecentId = 16;
// VIRTUAL_DISK_MAXIMUM_CHANGE_TRACKING_ID_LENGTH (SDK).
inline constexpr uint32_t kMaxChangeTrackingIdLength = 256;
}  // namespace info

// QUERY_CHANGES_VIRTUAL_DISK_RANGE (24 bytes).
struct QueryRange {
  uint64_t byte_offset;
  uint64_t byte_length;
  uint64_t reserved;
};
static_assert(sizeof(QueryRange) == 24, "QUERY_CHANGES_VIRTUAL_DISK_RANGE is 24 bytes");

class VirtDiskApi {
 public:
  virtual ~VirtDiskApi() = default;
  // OpenVirtualDisk with OPEN_VIRTUAL_DISK_VERSION_2 and VIRTUAL_DISK_ACCESS_NONE (the only mask V2 accepts);
  // read_only maps to Version2.ReadOnly, the mode Hyper-V allows on the disks of a running VM.
  virtual uint32_t OpenVirtualDisk(const std::string& path, bool read_only, VdHandle* handle) = 0;
  // `buffer` starts with the GET_VIRTUAL_DISK_INFO Version; *buffer_size in bytes, updated to the size
  // needed on ERROR_INSUFFICIENT_BUFFER.
  virtual uint32_t GetVirtualDiskInformation(VdHandle handle, uint32_t* buffer_size, void* buffer, uint32_t* size_used) = 0;
  // SetVirtualDiskInformation with SET_VIRTUAL_DISK_INFO_CHANGE_TRACKING_STATE.
  virtual uint32_t SetChangeTrackingState(VdHandle handle, bool enabled) = 0;
  virtual uint32_t QueryChangesVirtualDisk(VdHandle handle, const char16_t* change_tracking_id, uint64_t byte_offset,
                                           uint64_t byte_length, uint32_t flags, QueryRange* ranges,
                                           uint32_t* range_count, uint64_t* processed_length) = 0;
  virtual uint32_t CloseHandle(VdHandle handle) = 0;
};

// The real virtdisk.dll functions (resolved with GetProcAddress); ERR_NOT_SUPPORTED off Windows or on hosts
// without QueryChangesVirtualDisk.
std::shared_ptr<VirtDiskApi> SystemVirtDisk();

}  // namespace hvr::rct
