// A stand-in for virtdisk.dll that behaves as Microsoft documents it, so the RCT loop is tested on Linux:
// per-disk change tracking at a fixed granularity, ids of the form "rctX:<guid>:<sequence>", changes
// reported since an id up to the newest reference point, partial results that advance by ProcessedLength,
// ERROR_INSUFFICIENT_BUFFER / ERROR_MORE_DATA when the range array is short, and the ERROR_VHD_* /
// ERROR_CTLOG_* statuses for ids that are malformed, foreign, too old, or when tracking was lost.
// Disks exist only in memory; no data is stored, only which granules changed when.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "tracking/virtdisk_api.h"

namespace hvr::rct {

struct FakeDiskOptions {
  uint64_t virtual_size = 0;
  // Tracking unit in bytes (Hyper-V tracks in blocks of tens of KiB); a power of two ≥ sector size.
  uint32_t granularity = 64 * 1024;
  uint32_t block_size = 32u * 1024 * 1024;
  uint32_t sector_size = 512;
};

// How the fake splits a query into partial results, to exercise every documented path of the loop.
struct FakeQueryBehaviour {
  // Fewer ranges per call than the caller's array holds (0: the array's capacity).
  uint32_t max_ranges_per_call = 0;
  // Process at most this many bytes per call even with room left (0: no limit).
  uint64_t max_bytes_per_call = 0;
  // Status of a call that stopped early: ERROR_SUCCESS (0) or ERROR_MORE_DATA (234).
  uint32_t partial_status = 0;
};

class FakeVirtDisk final : public VirtDiskApi {
 public:
  // Control side (what Hyper-V and the guest would do). Throw ERR_INVALID_ARGUMENT / ERR_NOT_FOUND.
  void AddDisk(const std::string& path, const FakeDiskOptions& options);
  // The guest wrote [offset, offset+length).
  void Write(const std::string& path, uint64_t offset, uint64_t length);
  // A reference point: seals the changes so far and returns the new most recent id.
  std::string Seal(const std::string& path);
  // As if the disk were compacted or mounted outside Hyper-V: tracking is lost until re-enabled.
  void ModifyOffline(const std::string& path);
  // Hyper-V discards old tracking history; ids older than `id` then report missing information.
  void ForgetBefore(const std::string& path, const std::string& id);
  void SetQueryBehaviour(const std::string& path, const FakeQueryBehaviour& behaviour);
  // Calls to QueryChangesVirtualDisk so far (tests check that partial results were really exercised).
  uint64_t QueryCalls(const std::string& path);

  // VirtDiskApi.
  uint32_t OpenVirtualDisk(const std::string& path, bool read_only, VdHandle* handle) override;
  uint32_t GetVirtualDiskInformation(VdHandle handle, uint32_t* buffer_size, void* buffer, uint32_t* size_used) override;
  uint32_t SetChangeTrackingState(VdHandle handle, bool enabled) override;
  uint32_t QueryChangesVirtualDisk(VdHandle handle, const char16_t* change_tracking_id, uint64_t byte_offset,
                                   uint64_t byte_length, uint32_t flags, QueryRange* ranges, uint32_t* range_count,
                                   uint64_t* processed_length) override;
  uint32_t CloseHandle(VdHandle handle) override;

 private:
  struct Disk {
    FakeDiskOptions options;
    bool enabled = false;
    bool changed_offline = false;
    std::string guid;          // changes every time tracking is (re)enabled
    uint64_t sealed = 0;       // sequence of the most recent id
    uint64_t oldest = 0;       // oldest sequence whose changes are still known
    std::map<uint64_t, uint64_t> granules;  // granule index -> sequence in which it was last written
    FakeQueryBehaviour behaviour;
    uint64_t query_calls = 0;
  };

  Disk& Find(const std::string& path);
  Disk* FromHandle(VdHandle handle);
  std::string IdOf(const Disk& disk, uint64_t sequence) const;
  void Enable(Disk& disk);
  // The sequence an id names, or a virtdisk status explaining why it names none.
  uint32_t ParseId(const Disk& disk, const std::u16string& id, uint64_t* sequence) const;

  std::mutex mutex_;
  std::map<std::string, Disk> disks_;
  std::map<uintptr_t, std::string> handles_;
  uintptr_t next_handle_ = 0x1000;
};

}  // namespace hvr::rct
