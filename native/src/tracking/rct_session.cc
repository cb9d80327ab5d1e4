#include "tracking/rct_session.h"

#include <algorithm>
#include <cstring>

#include "core/native_error.h"

namespace hvr::rct {
namespace {

// A Hyper-V query can return far more ranges than a first guess; the array grows to this and no more.
constexpr uint32_t kMaxCapacity = 1u << 20;
// Calls in a row that neither advanced nor returned anything before the disk is declared stuck.
constexpr int kMaxStalls = 8;

std::u16string AsciiToUtf16(const std::string& id) {
  if (id.empty() || id.size() > info::kMaxChangeTrackingIdLength) {
    ThrowError(codes::kInvalidArgument, "an RCT id must have 1 to 256 characters, got " + std::to_string(id.size()));
  }
  std::u16string out;
  out.reserve(id.size());
  for (char c : id) {
    auto byte = static_cast<unsigned char>(c);
    // RCT ids are ASCII ("rctX:<guid>:<sequence>"); anything else did not come from virtdisk.
    if (byte < 0x20 || byte > 0x7E) ThrowError(codes::kInvalidArgument, "an RCT id is printable ASCII; '" + id + "' is not");
    out.push_back(static_cast<char16_t>(byte));
  }
  return out;
}

uint32_t ReadU32(const std::vector<unsigned char>& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

uint64_t ReadU64(const std::vector<unsigned char>& b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

}  // namespace

RctSession::RctSession(std::shared_ptr<VirtDiskApi> api, std::string path, bool read_only)
    : api_(std::move(api)), path_(std::move(path)) {
  uint32_t status = api_->OpenVirtualDisk(path_, read_only, &handle_);
  if (status != err::kSuccess) ThrowVirtDiskError(status, "OpenVirtualDisk", path_);
}

RctSession::~RctSession() {
  if (handle_ != nullptr) api_->CloseHandle(handle_);
}

DiskSize RctSession::GetSize() {
  std::vector<unsigned char> buffer(info::kStructSize, 0);
  uint32_t version = info::kVersionSize;
  std::memcpy(buffer.data(), &version, sizeof version);
  uint32_t size = static_cast<uint32_t>(buffer.size());
  uint32_t status = api_->GetVirtualDiskInformation(handle_, &size, buffer.data(), nullptr);
  if (status != err::kSuccess) ThrowVirtDiskError(status, "GetVirtualDiskInformation", path_);
  DiskSize out;
  out.virtual_size = ReadU64(buffer, info::kSizeVirtualSize);
  out.physical_size = ReadU64(buffer, info::kSizePhysicalSize);
  out.block_size = ReadU32(buffer, info::kSizeBlockSize);
  out.sector_size = ReadU32(buffer, info::kSizeSectorSize);
  return out;
}

TrackingState RctSession::GetTrackingState() {
  // Room for the longest documented id first; the call says how much it needs when that is not enough.
  uint32_t size = info::kStructSize + info::kMaxChangeTrackingIdLength * 2;
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::vector<unsigned char> buffer(size, 0);
    uint32_t version = info::kVersionChangeTrackingState;
    std::memcpy(buffer.data(), &version, sizeof version);
    uint32_t status = api_->GetVirtualDiskInformation(handle_, &size, buffer.data(), nullptr);
    if (status == err::kInsufficientBuffer && size > buffer.size()) continue;
    if (status != err::kSuccess) ThrowVirtDiskError(status, "GetVirtualDiskInformation", path_);
    TrackingState state;
    state.enabled = ReadU32(buffer, info::kCtEnabled) != 0;
    state.newer_changes = ReadU32(buffer, info::kCtNewerChanges) != 0;
    for (size_t at = info::kCtMostRecentId; at + 1 < buffer.size(); at += 2) {
      uint16_t unit = static_cast<uint16_t>(buffer[at] | (buffer[at + 1] << 8));
      if (unit == 0) break;
      if (unit > 0x7E || unit < 0x20) ThrowError(codes::kIo, "virtdisk returned an RCT id that is not ASCII for '" + path_ + "'");
      state.most_recent_id.push_back(static_cast<char>(unit));
    }
    return state;
  }
  ThrowError(codes::kIo, "GetVirtualDiskInformation kept asking for a larger buffer for '" + path_ + "'");
}

void RctSession::SetTrackingEnabled(bool enabled) {
  uint32_t status = api_->SetChangeTrackingState(handle_, enabled);
  if (status != err::kSuccess) ThrowVirtDiskError(status, "SetVirtualDiskInformation", path_);
}

QueryPage RctSession::Query(const std::string& id, uint64_t offset, uint64_t end, size_t max_ranges) {
  if (offset > end) ThrowError(codes::kInvalidArgument, "RCT query: offset is past the end");
  const std::u16string wide_id = AsciiToUtf16(id);
  QueryPage page;
  std::vector<QueryRange> ranges(capacity_);
  int stalls = 0;
  while (offset < end && page.ranges.size() < max_ranges) {
    uint32_t count = capacity_;
    uint64_t processed = 0;
    uint32_t status = api_->QueryChangesVirtualDisk(handle_, wide_id.c_str(), offset, end - offset, 0, ranges.data(),
                                                    &count, &processed);
    const bool short_buffer = status == err::kMoreData || status == err::kInsufficientBuffer;
    if (status != err::kSuccess && !short_buffer) ThrowVirtDiskError(status, "QueryChangesVirtualDisk", path_);
    if (count > capacity_ || processed > end - offset) {
      ThrowError(codes::kIo, "QueryChangesVirtualDisk returned more than it was asked for on '" + path_ + "'");
    }
    if (processed == 0) {
      // No progress: the array was too small for what comes next. Ranges of a call that did not advance
      // would come back again, so they are dropped and the call repeated with a larger array.
      if (capacity_ >= kMaxCapacity || ++stalls > kMaxStalls) {
        ThrowError(codes::kIo, "QueryChangesVirtualDisk made no progress at offset " + std::to_string(offset) +
                                   " of '" + path_ + "'");
      }
      capacity_ = std::min(kMaxCapacity, capacity_ * 4);
      ranges.resize(capacity_);
      continue;
    }
    stalls = 0;
    const uint64_t stop = offset + processed;
    uint64_t previous_end = page.ranges.empty() ? 0 : page.ranges.back().offset + page.ranges.back().length;
    for (uint32_t i = 0; i < count; ++i) {
      uint64_t from = std::max(ranges[i].byte_offset, offset);
      uint64_t to = std::min(ranges[i].byte_offset + ranges[i].byte_length, stop);
      if (ranges[i].byte_length == 0 || to <= from) continue;
      if (from < previous_end) {
        ThrowError(codes::kIo, "QueryChangesVirtualDisk returned overlapping or unsorted ranges for '" + path_ + "'");
      }
      if (!page.ranges.empty() && from == previous_end) {
        page.ranges.back().length += to - from;
      } else {
        page.ranges.push_back({from, to - from});
      }
      previous_end = to;
    }
    offset = stop;
  }
  page.next_offset = offset;
  return page;
}

}  // namespace hvr::rct
