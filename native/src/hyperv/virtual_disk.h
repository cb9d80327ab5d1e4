// Reading a checkpoint's frozen disk and writing a replica disk through virtdisk, over a function
// table so that the handle discipline and error mapping are tested without Windows.
//
// Why virtdisk "Raw IO" and not the VHDX engine on the frozen file: while the VM runs, Hyper-V holds
// the frozen parent open and is the only party that knows its state for certain (a VHDX log it may
// still replay, a differencing chain below it from older checkpoints, VHD or VHD Set formats the
// engine does not read). OpenVirtualDisk V2 read-only + AttachVirtualDisk with NO_LOCAL_HOST is
// Microsoft's documented way to read such a disk at virtual offsets (the Hyper-V Storage "RawIO"
// sample): no disk device appears on the host, so no PnP arrival, no automount of guest volumes, and
// offsets are exactly the guest's — the same address space QueryChangesVirtualDisk reports. The VHDX
// engine stays the reader for the file host and for the replica's own chains, where hvreplica owns
// the files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace hvr::hyperv {

struct VirtualDiskGeometry {
  uint64_t virtual_size = 0;
  uint32_t block_size = 0;
  uint32_t sector_size = 0;  // logical sector size; Raw IO offsets and lengths must be multiples of it
  uint32_t physical_sector_size = 0;
};

// One entry per virtdisk/kernel32 call; each returns the Win32 error code the real call returns
// (0 on success), so the logic's error handling is the one that runs on Windows.
class VirtualDiskApi {
 public:
  using Handle = uint64_t;
  virtual ~VirtualDiskApi() = default;
  // OpenVirtualDisk, VIRTUAL_STORAGE_TYPE UNKNOWN/UNKNOWN (format from the file), version 2,
  // VIRTUAL_DISK_ACCESS_NONE (the only mask V2 accepts) and ReadOnly as asked.
  virtual uint32_t Open(const std::string& path, bool read_only, Handle* handle) = 0;
  // AttachVirtualDisk with ATTACH_VIRTUAL_DISK_FLAG_NO_LOCAL_HOST (| READ_ONLY).
  virtual uint32_t AttachRaw(Handle handle, bool read_only) = 0;
  // GetVirtualDiskInformation GET_VIRTUAL_DISK_INFO_SIZE (+ VHD_PHYSICAL_SECTOR_SIZE).
  virtual uint32_t Geometry(Handle handle, VirtualDiskGeometry* out) = 0;
  // ReadFile / WriteFile at a virtual byte offset (OVERLAPPED offset; waits for completion).
  virtual uint32_t Read(Handle handle, uint64_t offset, void* buffer, uint32_t length, uint32_t* done) = 0;
  virtual uint32_t Write(Handle handle, uint64_t offset, const void* buffer, uint32_t length, uint32_t* done) = 0;
  // CloseHandle; detaches a disk attached without PERMANENT_LIFETIME.
  virtual void Close(Handle handle) = 0;
  // The system's text for a Win32 error (FormatMessage), empty when it has none.
  virtual std::string SystemText(uint32_t error) = 0;
};

// Throws the NativeError for a failed virtdisk call with advice for the errors administrators meet.
[[noreturn]] void ThrowVirtualDiskError(VirtualDiskApi& api, uint32_t error, const std::string& call,
                                        const std::string& path);

class RawVirtualDisk {
 public:
  enum class Mode { kReadOnly, kReadWrite };
  // Opens and attaches; on any failure the handle is closed before the error is thrown.
  static std::unique_ptr<RawVirtualDisk> Open(std::shared_ptr<VirtualDiskApi> api, const std::string& path, Mode mode);
  ~RawVirtualDisk();
  RawVirtualDisk(const RawVirtualDisk&) = delete;
  RawVirtualDisk& operator=(const RawVirtualDisk&) = delete;

  const VirtualDiskGeometry& geometry() const { return geometry_; }
  const std::string& path() const { return path_; }

  // Reads exactly `length` bytes at a virtual offset. Unaligned requests (RCT ranges are block
  // granular in practice, but nothing promises it) go through an aligned bounce buffer.
  void ReadAt(uint64_t offset, void* buffer, size_t length);
  // Writes at a virtual offset; offset and length must be multiples of the sector size, because a
  // read-modify-write of a partial sector on a live replica disk could tear it.
  void WriteAt(uint64_t offset, const void* buffer, size_t length);
  void Close();

 private:
  RawVirtualDisk(std::shared_ptr<VirtualDiskApi> api, VirtualDiskApi::Handle handle, std::string path, Mode mode)
      : api_(std::move(api)), handle_(handle), path_(std::move(path)), mode_(mode) {}
  void ReadAligned(uint64_t offset, char* out, size_t length);
  void CheckRange(uint64_t offset, size_t length) const;

  std::shared_ptr<VirtualDiskApi> api_;
  VirtualDiskApi::Handle handle_;
  bool open_ = true;
  std::string path_;
  Mode mode_;
  VirtualDiskGeometry geometry_;
};

}  // namespace hvr::hyperv
