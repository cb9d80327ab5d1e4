#include "hyperv/virtual_disk.h"

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/native_error.h"

namespace hvr::hyperv {
namespace {

constexpr uint32_t kMaxChunk = 64u << 20;

struct Advice {
  uint32_t error;
  const char* code;
  const char* text;
};

// Win32 codes as virtdisk returns them (not through GetLastError).
constexpr Advice kAdvice[] = {
    {2, codes::kNotFound, "the disk file does not exist; was the checkpoint removed meanwhile?"},
    {3, codes::kNotFound, "the folder of the disk file does not exist"},
    {5, codes::kAccessDenied,
     "run hvreplica elevated (Administrators); a running VM's live AVHDX cannot be opened, only the frozen parent"},
    {32, codes::kAccessDenied,
     "another process holds the disk (a running VM, a backup, a mounted copy); hvreplica reads only frozen disks"},
    {33, codes::kAccessDenied, "part of the disk file is locked by another process"},
    {87, codes::kInvalidArgument,
     "virtdisk refused the request; the file may not be a VHD/VHDX, or the offset is not sector-aligned"},
    {112, codes::kDiskFull, "the volume holding the disk is full"},
    {120, codes::kNotSupported, "this Windows version lacks the virtdisk call; Windows Server 2016 or later is needed"},
    {618, codes::kNotSupported, "the disk is on an NTFS-compressed folder; virtdisk cannot open it there"},
    {6002, codes::kNotSupported, "the disk is encrypted with EFS; virtdisk cannot open it"},
    {665, codes::kNotSupported, "the disk is on a loopback share or a file system virtdisk cannot use"},
};

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(v));
  return buf;
}

}  // namespace

void ThrowVirtualDiskError(VirtualDiskApi& api, uint32_t error, const std::string& call, const std::string& path) {
  std::string message = call + " failed for '" + path + "'";
  std::string system = api.SystemText(error);
  const char* code = codes::kOsError;
  const char* advice = nullptr;
  for (const Advice& a : kAdvice) {
    if (a.error == error) {
      code = a.code;
      advice = a.text;
    }
  }
  if (advice == nullptr && (error & 0xFFFF0000u) == 0xC03A0000u) {
    code = codes::kIo;
    advice = "the virtual disk subsystem rejected the disk; check it with Test-VHD and the Hyper-V-VMMS event log";
  }
  message += ": " + (system.empty() ? std::string("Win32 error ") + std::to_string(error) : system);
  message += " (" + (error < 0x10000 ? std::to_string(error) : Hex(error)) + ")";
  if (advice != nullptr) message += ": " + std::string(advice);
  throw NativeError(code, message, static_cast<int>(error), call);
}

std::unique_ptr<RawVirtualDisk> RawVirtualDisk::Open(std::shared_ptr<VirtualDiskApi> api, const std::string& path,
                                                     Mode mode) {
  const bool read_only = mode == Mode::kReadOnly;
  VirtualDiskApi::Handle handle = 0;
  uint32_t err = api->Open(path, read_only, &handle);
  if (err != 0) ThrowVirtualDiskError(*api, err, "OpenVirtualDisk", path);
  // Owning the handle from here means every later failure closes (and so detaches) it.
  std::unique_ptr<RawVirtualDisk> disk(new RawVirtualDisk(api, handle, path, mode));
  err = api->AttachRaw(handle, read_only);
  if (err != 0) ThrowVirtualDiskError(*api, err, "AttachVirtualDisk", path);
  err = api->Geometry(handle, &disk->geometry_);
  if (err != 0) ThrowVirtualDiskError(*api, err, "GetVirtualDiskInformation", path);
  const uint32_t sector = disk->geometry_.sector_size;
  if (sector == 0 || (sector & (sector - 1)) != 0 || disk->geometry_.virtual_size % sector != 0) {
    throw NativeError(codes::kIo, "virtdisk reported an impossible geometry for '" + path + "' (sector size " +
                                      std::to_string(sector) + ", virtual size " +
                                      std::to_string(disk->geometry_.virtual_size) + ")");
  }
  return disk;
}

RawVirtualDisk::~RawVirtualDisk() { Close(); }

void RawVirtualDisk::Close() {
  if (!open_) return;
  open_ = false;
  api_->Close(handle_);
}

void RawVirtualDisk::CheckRange(uint64_t offset, size_t length) const {
  if (!open_) throw NativeError(codes::kInvalidArgument, "virtual disk '" + path_ + "' is closed");
  if (offset > geometry_.virtual_size || length > geometry_.virtual_size - offset) {
    throw NativeError(codes::kInvalidArgument, "range " + std::to_string(offset) + "+" + std::to_string(length) +
                                                   " is beyond the end of virtual disk '" + path_ + "' (" +
                                                   std::to_string(geometry_.virtual_size) + " bytes)");
  }
}

void RawVirtualDisk::ReadAligned(uint64_t offset, char* out, size_t length) {
  while (length > 0) {
    uint32_t want = length > kMaxChunk ? kMaxChunk : static_cast<uint32_t>(length);
    uint32_t done = 0;
    uint32_t err = api_->Read(handle_, offset, out, want, &done);
    if (err != 0) ThrowVirtualDiskError(*api_, err, "ReadFile", path_);
    if (done == 0) {
      throw NativeError(codes::kIo, "reading virtual disk '" + path_ + "' at " + std::to_string(offset) +
                                        " returned no data before its end");
    }
    out += done;
    offset += done;
    length -= done;
  }
}

void RawVirtualDisk::ReadAt(uint64_t offset, void* buffer, size_t length) {
  CheckRange(offset, length);
  char* out = static_cast<char*>(buffer);
  const uint64_t sector = geometry_.sector_size;
  std::vector<char> bounce;
  // Head: a partial first sector.
  if (length > 0 && offset % sector != 0) {
    bounce.resize(sector);
    uint64_t base = offset - offset % sector;
    ReadAligned(base, bounce.data(), sector);
    size_t skip = static_cast<size_t>(offset - base);
    size_t take = std::min<size_t>(length, sector - skip);
    std::memcpy(out, bounce.data() + skip, take);
    out += take;
    offset += take;
    length -= take;
  }
  size_t middle = static_cast<size_t>(length - length % sector);
  if (middle > 0) {
    ReadAligned(offset, out, middle);
    out += middle;
    offset += middle;
    length -= middle;
  }
  // Tail: a partial last sector (the disk's size is a sector multiple, so the sector exists).
  if (length > 0) {
    bounce.resize(sector);
    ReadAligned(offset, bounce.data(), sector);
    std::memcpy(out, bounce.data(), length);
  }
}

void RawVirtualDisk::WriteAt(uint64_t offset, const void* buffer, size_t length) {
  CheckRange(offset, length);
  if (mode_ != Mode::kReadWrite) {
    throw NativeError(codes::kAccessDenied, "virtual disk '" + path_ + "' was opened read-only");
  }
  const uint64_t sector = geometry_.sector_size;
  if (offset % sector != 0 || length % sector != 0) {
    throw NativeError(codes::kInvalidArgument, "writes to virtual disk '" + path_ + "' must be aligned to its " +
                                                   std::to_string(sector) + "-byte sectors (offset " +
                                                   std::to_string(offset) + ", length " + std::to_string(length) + ")");
  }
  const char* in = static_cast<const char*>(buffer);
  while (length > 0) {
    uint32_t want = length > kMaxChunk ? kMaxChunk : static_cast<uint32_t>(length);
    uint32_t done = 0;
    uint32_t err = api_->Write(handle_, offset, in, want, &done);
    if (err != 0) ThrowVirtualDiskError(*api_, err, "WriteFile", path_);
    if (done == 0) throw NativeError(codes::kIo, "writing virtual disk '" + path_ + "' made no progress");
    in += done;
    offset += done;
    length -= done;
  }
}

}  // namespace hvr::hyperv
