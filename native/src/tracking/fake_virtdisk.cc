#include "tracking/fake_virtdisk.h"

#include <cstdio>
#include <cstring>
#include <random>

#include "core/native_error.h"

namespace hvr::rct {
namespace {

bool PowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

void WriteU32(void* buffer, size_t at, uint32_t value) { std::memcpy(static_cast<char*>(buffer) + at, &value, sizeof value); }
void WriteU64(void* buffer, size_t at, uint64_t value) { std::memcpy(static_cast<char*>(buffer) + at, &value, sizeof value); }

}  // namespace

FakeVirtDisk::Disk& FakeVirtDisk::Find(const std::string& path) {
  auto it = disks_.find(path);
  if (it == disks_.end()) ThrowError(codes::kNotFound, "the fake virtdisk has no disk '" + path + "'; add it first");
  return it->second;
}

FakeVirtDisk::Disk* FakeVirtDisk::FromHandle(VdHandle handle) {
  auto it = handles_.find(reinterpret_cast<uintptr_t>(handle));
  if (it == handles_.end()) return nullptr;
  auto disk = disks_.find(it->second);
  return disk == disks_.end() ? nullptr : &disk->second;
}

std::string FakeVirtDisk::IdOf(const Disk& disk, uint64_t sequence) const {
  char seq[24];
  std::snprintf(seq, sizeof seq, "%08llu", static_cast<unsigned long long>(sequence));
  return "rctX:" + disk.guid + ":" + seq;
}

void FakeVirtDisk::Enable(Disk& disk) {
  // Every (re-)enable starts a new tracking log with a new random GUID, so ids never match across disks.
  std::random_device random;
  char guid[48];
  std::snprintf(guid, sizeof guid, "%08x:%04x:%04x:%04x:%04x%08x", random(), random() & 0xffff, (random() & 0x0fff) | 0x4000,
                (random() & 0x3fff) | 0x8000, random() & 0xffff, random());
  disk.guid = guid;
  disk.enabled = true;
  disk.changed_offline = false;
  disk.sealed = 1;
  disk.oldest = 1;
  disk.granules.clear();
}

void FakeVirtDisk::AddDisk(const std::string& path, const FakeDiskOptions& options) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (disks_.count(path) != 0) ThrowError(codes::kAlreadyExists, "the fake virtdisk already has '" + path + "'");
  if (options.sector_size != 512 && options.sector_size != 4096) ThrowError(codes::kInvalidArgument, "sector size must be 512 or 4096");
  if (!PowerOfTwo(options.granularity) || options.granularity < options.sector_size) {
    ThrowError(codes::kInvalidArgument, "granularity must be a power of two of at least the sector size");
  }
  if (options.virtual_size == 0 || options.virtual_size % options.sector_size != 0) {
    ThrowError(codes::kInvalidArgument, "virtual size must be a positive multiple of the sector size");
  }
  Disk disk;
  disk.options = options;
  disks_.emplace(path, disk);
}

void FakeVirtDisk::Write(const std::string& path, uint64_t offset, uint64_t length) {
  std::lock_guard<std::mutex> lock(mutex_);
  Disk& disk = Find(path);
  if (offset > disk.options.virtual_size || length > disk.options.virtual_size - offset) {
    ThrowError(codes::kInvalidArgument, "write past the end of fake disk '" + path + "'");
  }
  if (length == 0 || !disk.enabled) return;
  const uint64_t g = disk.options.granularity;
  for (uint64_t unit = offset / g; unit <= (offset + length - 1) / g; ++unit) disk.granules[unit] = disk.sealed + 1;
}

std::string FakeVirtDisk::Seal(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  Disk& disk = Find(path);
  if (!disk.enabled) ThrowError(codes::kInvalidArgument, "change tracking is off on fake disk '" + path + "'");
  disk.sealed += 1;
  return IdOf(disk, disk.sealed);
}

void FakeVirtDisk::ModifyOffline(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  Find(path).changed_offline = true;
}

void FakeVirtDisk::ForgetBefore(const std::string& path, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Disk& disk = Find(path);
  uint64_t sequence = 0;
  std::u16string wide(id.begin(), id.end());
  if (ParseId(disk, wide, &sequence) != err::kSuccess) ThrowError(codes::kInvalidArgument, "'" + id + "' is not an id of '" + path + "'");
  disk.oldest = sequence;
}

void FakeVirtDisk::SetQueryBehaviour(const std::string& path, const FakeQueryBehaviour& behaviour) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (behaviour.partial_status != err::kSuccess && behaviour.partial_status != err::kMoreData) {
    ThrowError(codes::kInvalidArgument, "partial status must be 0 (ERROR_SUCCESS) or 234 (ERROR_MORE_DATA)");
  }
  Find(path).behaviour = behaviour;
}

uint64_t FakeVirtDisk::QueryCalls(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  return Find(path).query_calls;
}

uint32_t FakeVirtDisk::OpenVirtualDisk(const std::string& path, bool /*read_only*/, VdHandle* handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (handle == nullptr || path.empty()) return err::kInvalidParameter;
  if (disks_.count(path) == 0) return err::kFileNotFound;
  uintptr_t value = next_handle_;
  next_handle_ += 4;
  handles_[value] = path;
  *handle = reinterpret_cast<VdHandle>(value);
  return err::kSuccess;
}

uint32_t FakeVirtDisk::GetVirtualDiskInformation(VdHandle handle, uint32_t* buffer_size, void* buffer, uint32_t* size_used) {
  std::lock_guard<std::mutex> lock(mutex_);
  Disk* disk = FromHandle(handle);
  if (disk == nullptr) return err::kInvalidHandle;
  if (buffer_size == nullptr || buffer == nullptr || *buffer_size < sizeof(uint32_t)) return err::kInvalidParameter;
  uint32_t version;
  std::memcpy(&version, buffer, sizeof version);
  if (version == info::kVersionSize) {
    if (*buffer_size < info::kStructSize) {
      *buffer_size = info::kStructSize;
      return err::kInsufficientBuffer;
    }
    WriteU64(buffer, info::kSizeVirtualSize, disk->options.virtual_size);
    WriteU64(buffer, info::kSizePhysicalSize, 4u * 1024 * 1024 + disk->granules.size() * disk->options.granularity);
    WriteU32(buffer, info::kSizeBlockSize, disk->options.block_size);
    WriteU32(buffer, info::kSizeSectorSize, disk->options.sector_size);
    if (size_used != nullptr) *size_used = info::kStructSize;
    return err::kSuccess;
  }
  if (version == info::kVersionChangeTrackingState) {
    const std::string id = disk->enabled ? IdOf(*disk, disk->sealed) : std::string();
    uint32_t needed = info::kCtMostRecentId + static_cast<uint32_t>(id.size() + 1) * 2;
    if (needed < info::kStructSize) needed = info::kStructSize;
    if (*buffer_size < needed) {
      *buffer_size = needed;
      return err::kInsufficientBuffer;
    }
    bool newer = false;
    for (const auto& entry : disk->granules) newer = newer || entry.second > disk->sealed;
    WriteU32(buffer, info::kCtEnabled, disk->enabled ? 1 : 0);
    WriteU32(buffer, info::kCtNewerChanges, newer ? 1 : 0);
    auto* out = static_cast<unsigned char*>(buffer) + info::kCtMostRecentId;
    for (size_t i = 0; i <= id.size(); ++i) {
      unsigned char c = i < id.size() ? static_cast<unsigned char>(id[i]) : 0;
      out[2 * i] = c;
      out[2 * i + 1] = 0;
    }
    if (size_used != nullptr) *size_used = needed;
    return err::kSuccess;
  }
  return err::kInvalidParameter;
}

uint32_t FakeVirtDisk::SetChangeTrackingState(VdHandle handle, bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  Disk* disk = FromHandle(handle);
  if (disk == nullptr) return err::kInvalidHandle;
  if (!enabled) {
    disk->enabled = false;
    disk->granules.clear();
  } else if (!disk->enabled || disk->changed_offline) {
    Enable(*disk);
  }
  return err::kSuccess;
}

uint32_t FakeVirtDisk::ParseId(const Disk& disk, const std::u16string& id, uint64_t* sequence) const {
  // "rctX:" + guid + ":" + decimal sequence; the guid must be this disk's current tracking log.
  const std::u16string prefix = u"rctX:" + std::u16string(disk.guid.begin(), disk.guid.end()) + u":";
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) return err::kVhdInvalidChangeTrackingId;
  uint64_t value = 0;
  for (size_t i = prefix.size(); i < id.size(); ++i) {
    if (id[i] < u'0' || id[i] > u'9' || value > (UINT64_MAX - 9) / 10) return err::kVhdInvalidChangeTrackingId;
    value = value * 10 + static_cast<uint64_t>(id[i] - u'0');
  }
  if (value == 0 || value > disk.sealed) return err::kVhdInvalidChangeTrackingId;
  if (value < disk.oldest) return err::kVhdMissingChangeTrackingInformation;
  *sequence = value;
  return err::kSuccess;
}

uint32_t FakeVirtDisk::QueryChangesVirtualDisk(VdHandle handle, const char16_t* change_tracking_id, uint64_t byte_offset,
                                               uint64_t byte_length, uint32_t flags, QueryRange* ranges,
                                               uint32_t* range_count, uint64_t* processed_length) {
  std::lock_guard<std::mutex> lock(mutex_);
  Disk* disk = FromHandle(handle);
  if (disk == nullptr) return err::kInvalidHandle;
  disk->query_calls += 1;
  if (change_tracking_id == nullptr || ranges == nullptr || range_count == nullptr || processed_length == nullptr ||
      flags != 0) {
    return err::kInvalidParameter;
  }
  const uint64_t size = disk->options.virtual_size;
  if (byte_offset > size || byte_length > size - byte_offset) return err::kInvalidParameter;
  if (!disk->enabled) return err::kVhdChangeTrackingDisabled;
  if (disk->changed_offline) return err::kCtlogVhdChangedOffline;
  uint64_t since = 0;
  uint32_t status = ParseId(*disk, std::u16string(change_tracking_id), &since);
  if (status != err::kSuccess) return status;

  const FakeQueryBehaviour& how = disk->behaviour;
  uint32_t capacity = *range_count;
  if (how.max_ranges_per_call != 0 && how.max_ranges_per_call < capacity) capacity = how.max_ranges_per_call;
  uint64_t window_end = byte_offset + byte_length;
  if (how.max_bytes_per_call != 0 && how.max_bytes_per_call < byte_length) window_end = byte_offset + how.max_bytes_per_call;

  const uint64_t g = disk->options.granularity;
  uint32_t filled = 0;
  bool stopped_early = false;
  uint64_t reached = window_end;
  for (auto it = disk->granules.lower_bound(byte_offset / g); it != disk->granules.end(); ++it) {
    uint64_t from = it->first * g;
    if (from >= window_end) break;
    // Changes after the newest reference point belong to the live state, not to the sealed one queried.
    if (it->second <= since || it->second > disk->sealed) continue;
    uint64_t to = from + g;
    if (from < byte_offset) from = byte_offset;
    if (to > window_end) to = window_end;
    if (filled > 0 && ranges[filled - 1].byte_offset + ranges[filled - 1].byte_length == from) {
      ranges[filled - 1].byte_length += to - from;
      continue;
    }
    if (filled == capacity) {
      // No room: report what fits and say how far it got, as the documentation describes.
      stopped_early = true;
      reached = filled == 0 ? byte_offset : ranges[filled - 1].byte_offset + ranges[filled - 1].byte_length;
      break;
    }
    ranges[filled++] = {from, to - from, 0};
  }
  *range_count = filled;
  *processed_length = reached - byte_offset;
  if (stopped_early && filled == 0) return err::kInsufficientBuffer;
  if (stopped_early || window_end < byte_offset + byte_length) return how.partial_status;
  return err::kSuccess;
}

uint32_t FakeVirtDisk::CloseHandle(VdHandle handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  return handles_.erase(reinterpret_cast<uintptr_t>(handle)) == 1 ? err::kSuccess : err::kInvalidHandle;
}

}  // namespace hvr::rct
