// VirtualDiskApi over virtdisk.dll, every function resolved at run time: Wine and hosts without the
// Hyper-V platform lack some of them, and a missing import would stop the whole addon from loading.
#include <windows.h>
#include <virtdisk.h>

#include <string>

#include "core/native_error.h"
#include "hyperv/factory.h"
#include "platform/win/dynamic_api.h"
#include "platform/win/utf16.h"

namespace hvr::hyperv {
namespace {

using OpenFn = DWORD(WINAPI*)(PVIRTUAL_STORAGE_TYPE, PCWSTR, VIRTUAL_DISK_ACCESS_MASK, OPEN_VIRTUAL_DISK_FLAG,
                              POPEN_VIRTUAL_DISK_PARAMETERS, PHANDLE);
using AttachFn = DWORD(WINAPI*)(HANDLE, PSECURITY_DESCRIPTOR, ATTACH_VIRTUAL_DISK_FLAG, ULONG,
                                PATTACH_VIRTUAL_DISK_PARAMETERS, LPOVERLAPPED);
using InfoFn = DWORD(WINAPI*)(HANDLE, PULONG, PGET_VIRTUAL_DISK_INFO, PULONG);

// Flag values from the Windows SDK (virtdisk.h); mingw-w64 10 stops before some of them.
constexpr ULONG kAttachReadOnly = 0x1;
constexpr ULONG kAttachNoLocalHost = 0x8;

HANDLE FromHandle(VirtualDiskApi::Handle h) { return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(h)); }

class SystemVirtualDisk final : public VirtualDiskApi {
 public:
  SystemVirtualDisk()
      : open_(win::Resolve<OpenFn>(L"virtdisk.dll", "OpenVirtualDisk")),
        attach_(win::Resolve<AttachFn>(L"virtdisk.dll", "AttachVirtualDisk")),
        info_(win::Resolve<InfoFn>(L"virtdisk.dll", "GetVirtualDiskInformation")) {
    if (open_ == nullptr || attach_ == nullptr || info_ == nullptr) {
      throw NativeError(codes::kNotSupported,
                        "virtdisk.dll on this host lacks OpenVirtualDisk, AttachVirtualDisk or "
                        "GetVirtualDiskInformation; reading checkpoint disks needs Windows Server 2016 or later",
                        ERROR_PROC_NOT_FOUND, "GetProcAddress");
    }
  }

  uint32_t Open(const std::string& path, bool read_only, Handle* handle) override {
    VIRTUAL_STORAGE_TYPE type{};  // DeviceId UNKNOWN + VendorId UNKNOWN (zero GUID): format from the file
    OPEN_VIRTUAL_DISK_PARAMETERS params{};
    params.Version = OPEN_VIRTUAL_DISK_VERSION_2;
    params.Version2.GetInfoOnly = FALSE;
    params.Version2.ReadOnly = read_only ? TRUE : FALSE;
    HANDLE h = nullptr;
    std::wstring wide = Utf8ToWide(path);
    DWORD err = open_(&type, wide.c_str(), VIRTUAL_DISK_ACCESS_NONE, OPEN_VIRTUAL_DISK_FLAG_NONE, &params, &h);
    if (err == ERROR_SUCCESS) *handle = static_cast<Handle>(reinterpret_cast<uintptr_t>(h));
    return err;
  }

  uint32_t AttachRaw(Handle handle, bool read_only) override {
    ATTACH_VIRTUAL_DISK_PARAMETERS params{};
    params.Version = ATTACH_VIRTUAL_DISK_VERSION_1;
    ULONG flags = kAttachNoLocalHost | (read_only ? kAttachReadOnly : 0);
    return attach_(FromHandle(handle), nullptr, static_cast<ATTACH_VIRTUAL_DISK_FLAG>(flags), 0, &params, nullptr);
  }

  uint32_t Geometry(Handle handle, VirtualDiskGeometry* out) override {
    GET_VIRTUAL_DISK_INFO info{};
    info.Version = GET_VIRTUAL_DISK_INFO_SIZE;
    ULONG size = sizeof info;
    DWORD err = info_(FromHandle(handle), &size, &info, nullptr);
    if (err != ERROR_SUCCESS) return err;
    out->virtual_size = info.Size.VirtualSize;
    out->block_size = info.Size.BlockSize;
    out->sector_size = info.Size.SectorSize;
    GET_VIRTUAL_DISK_INFO phys{};
    phys.Version = GET_VIRTUAL_DISK_INFO_VHD_PHYSICAL_SECTOR_SIZE;
    size = sizeof phys;
    // Not every format reports it (VHD does not); the logical size is what the I/O rules need.
    out->physical_sector_size = info_(FromHandle(handle), &size, &phys, nullptr) == ERROR_SUCCESS
                                    ? phys.VhdPhysicalSectorSize
                                    : info.Size.SectorSize;
    return ERROR_SUCCESS;
  }

  uint32_t Read(Handle handle, uint64_t offset, void* buffer, uint32_t length, uint32_t* done) override {
    return Transfer(handle, offset, buffer, length, done, false);
  }

  uint32_t Write(Handle handle, uint64_t offset, const void* buffer, uint32_t length, uint32_t* done) override {
    return Transfer(handle, offset, const_cast<void*>(buffer), length, done, true);
  }

  void Close(Handle handle) override { CloseHandle(FromHandle(handle)); }

  std::string SystemText(uint32_t error) override {
    wchar_t* text = nullptr;
    DWORD len = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                               nullptr, error, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
    std::string out;
    if (len > 0 && text != nullptr) out = WideToUtf8(std::wstring(text, len));
    if (text != nullptr) LocalFree(text);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '.')) {
      out.pop_back();
    }
    return out;
  }

 private:
  // The virtual-disk handle may complete I/O asynchronously; an event per request keeps concurrent
  // reads on one handle (several streams of one disk) from waking each other.
  static uint32_t Transfer(Handle handle, uint64_t offset, void* buffer, uint32_t length, uint32_t* done, bool write) {
    OVERLAPPED ov{};
    ov.Offset = static_cast<DWORD>(offset & 0xFFFFFFFFu);
    ov.OffsetHigh = static_cast<DWORD>(offset >> 32);
    ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (ov.hEvent == nullptr) return GetLastError();
    HANDLE h = FromHandle(handle);
    BOOL ok = write ? WriteFile(h, buffer, length, nullptr, &ov) : ReadFile(h, buffer, length, nullptr, &ov);
    DWORD err = ok ? ERROR_SUCCESS : GetLastError();
    DWORD transferred = 0;
    if (ok || err == ERROR_IO_PENDING) {
      err = GetOverlappedResult(h, &ov, &transferred, TRUE) ? ERROR_SUCCESS : GetLastError();
    }
    CloseHandle(ov.hEvent);
    *done = transferred;
    return err;
  }

  OpenFn open_;
  AttachFn attach_;
  InfoFn info_;
};

}  // namespace

std::shared_ptr<VirtualDiskApi> SystemVirtualDiskApi() { return std::make_shared<SystemVirtualDisk>(); }

}  // namespace hvr::hyperv
