// One open virtual disk queried for Resilient Change Tracking: reads the tracking state and lists the
// ranges changed since an RCT id, looping on QueryChangesVirtualDisk's ProcessedLength as the
// documentation requires. Plain C++ over the VirtDiskApi table, so the same code runs on Windows and
// against the fake in the Linux tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tracking/virtdisk_api.h"

namespace hvr::rct {

struct TrackingState {
  bool enabled = false;
  bool newer_changes = false;
  std::string most_recent_id;
};

struct DiskSize {
  uint64_t virtual_size = 0;
  uint64_t physical_size = 0;
  uint32_t block_size = 0;
  uint32_t sector_size = 0;
};

struct ChangedRange {
  uint64_t offset;
  uint64_t length;
};

struct QueryPage {
  std::vector<ChangedRange> ranges;
  // Where the next page starts; equals the end asked for when the listing is complete.
  uint64_t next_offset = 0;
};

class RctSession {
 public:
  RctSession(std::shared_ptr<VirtDiskApi> api, std::string path, bool read_only);
  ~RctSession();
  RctSession(const RctSession&) = delete;
  RctSession& operator=(const RctSession&) = delete;

  const std::string& path() const { return path_; }
  DiskSize GetSize();
  TrackingState GetTrackingState();
  void SetTrackingEnabled(bool enabled);
  // Changes since `id` within [offset, end), at most about `max_ranges` per page (the last call's ranges
  // are kept whole), so the caller streams a disk of any size with bounded memory.
  QueryPage Query(const std::string& id, uint64_t offset, uint64_t end, size_t max_ranges);

 private:
  std::shared_ptr<VirtDiskApi> api_;
  std::string path_;
  VdHandle handle_ = nullptr;
  uint32_t capacity_ = 256;
};

// Throws the NativeError a virtdisk status deserves: the ERROR_VHD_* / ERROR_CTLOG_* family (and 87 from a
// query) means tracking continuity is lost, ERR_RESYNC_REQUIRED; os_errno keeps the raw status.
[[noreturn]] void ThrowVirtDiskError(uint32_t status, const std::string& call, const std::string& subject);

// The documented name of a status, for messages ("ERROR_VHD_INVALID_CHANGE_TRACKING_ID").
const char* VirtDiskErrorName(uint32_t status);

}  // namespace hvr::rct
