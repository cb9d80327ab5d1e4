// The real virtdisk.dll behind the VirtDiskApi table. Every entry point is resolved with GetProcAddress
// (from System32 only), so the addon loads on hosts without RCT and under Wine, and reports
// ERR_NOT_SUPPORTED there instead.
#include <windows.h>
#include <virtdisk.h>

#include <memory>

#include "core/host_features.h"
#include "core/native_error.h"
#include "platform/win/dynamic_api.h"
#include "platform/win/utf16.h"
#include "tracking/virtdisk_api.h"

namespace hvr::rct {
namespace {

using OpenFn = DWORD(WINAPI*)(PVIRTUAL_STORAGE_TYPE, PCWSTR, VIRTUAL_DISK_ACCESS_MASK, OPEN_VIRTUAL_DISK_FLAG,
                              POPEN_VIRTUAL_DISK_PARAMETERS, PHANDLE);
using GetInfoFn = DWORD(WINAPI*)(HANDLE, PULONG, PGET_VIRTUAL_DISK_INFO, PULONG);
using SetInfoFn = DWORD(WINAPI*)(HANDLE, PSET_VIRTUAL_DISK_INFO);
using QueryFn = DWORD(WINAPI*)(HANDLE, PCWSTR, ULONG64, ULONG64, QUERY_CHANGES_VIRTUAL_DISK_FLAG,
                               PQUERY_CHANGES_VIRTUAL_DISK_RANGE, PULONG, PULONG64);

static_assert(sizeof(QUERY_CHANGES_VIRTUAL_DISK_RANGE) == sizeof(QueryRange), "range layout matches virtdisk.h");
static_assert(sizeof(ULONG) == sizeof(uint32_t), "ULONG is 32-bit on Windows");
static_assert(sizeof(wchar_t) == sizeof(char16_t), "wide strings are UTF-16 on Windows");

class WinVirtDisk final : public VirtDiskApi {
 public:
  WinVirtDisk(OpenFn open, GetInfoFn get_info, SetInfoFn set_info, QueryFn query)
      : open_(open), get_info_(get_info), set_info_(set_info), query_(query) {}

  uint32_t OpenVirtualDisk(const std::string& path, bool read_only, VdHandle* handle) override {
    // Device and vendor "unknown" let virtdisk pick VHD/VHDX from the file itself (as Microsoft's samples do);
    // a zero GUID is VIRTUAL_STORAGE_TYPE_VENDOR_UNKNOWN, built here so no uuid library is needed.
    VIRTUAL_STORAGE_TYPE type{};
    type.DeviceId = VIRTUAL_STORAGE_TYPE_DEVICE_UNKNOWN;
    OPEN_VIRTUAL_DISK_PARAMETERS parameters{};
    parameters.Version = OPEN_VIRTUAL_DISK_VERSION_2;
    parameters.Version2.GetInfoOnly = FALSE;
    parameters.Version2.ReadOnly = read_only ? TRUE : FALSE;
    std::wstring wide = Utf8ToWide(path);
    HANDLE out = nullptr;
    DWORD status = open_(&type, wide.c_str(), VIRTUAL_DISK_ACCESS_NONE, OPEN_VIRTUAL_DISK_FLAG_NONE, &parameters, &out);
    if (status == ERROR_SUCCESS) *handle = out;
    return status;
  }

  uint32_t GetVirtualDiskInformation(VdHandle handle, uint32_t* buffer_size, void* buffer, uint32_t* size_used) override {
    ULONG size = *buffer_size;
    ULONG used = 0;
    DWORD status = get_info_(handle, &size, static_cast<PGET_VIRTUAL_DISK_INFO>(buffer), &used);
    *buffer_size = size;
    if (size_used != nullptr) *size_used = used;
    return status;
  }

  uint32_t SetChangeTrackingState(VdHandle handle, bool enabled) override {
    SET_VIRTUAL_DISK_INFO info{};
    info.Version = SET_VIRTUAL_DISK_INFO_CHANGE_TRACKING_STATE;
    info.ChangeTrackingEnabled = enabled ? TRUE : FALSE;
    return set_info_(handle, &info);
  }

  uint32_t QueryChangesVirtualDisk(VdHandle handle, const char16_t* change_tracking_id, uint64_t byte_offset,
                                   uint64_t byte_length, uint32_t flags, QueryRange* ranges, uint32_t* range_count,
                                   uint64_t* processed_length) override {
    ULONG count = *range_count;
    ULONG64 processed = 0;
    DWORD status = query_(handle, reinterpret_cast<PCWSTR>(change_tracking_id), byte_offset, byte_length,
                          static_cast<QUERY_CHANGES_VIRTUAL_DISK_FLAG>(flags),
                          reinterpret_cast<PQUERY_CHANGES_VIRTUAL_DISK_RANGE>(ranges), &count, &processed);
    *range_count = count;
    *processed_length = processed;
    return status;
  }

  uint32_t CloseHandle(VdHandle handle) override { return ::CloseHandle(handle) ? ERROR_SUCCESS : GetLastError(); }

 private:
  OpenFn open_;
  GetInfoFn get_info_;
  SetInfoFn set_info_;
  QueryFn query_;
};

}  // namespace

std::shared_ptr<VirtDiskApi> SystemVirtDisk() {
  auto open = win::Resolve<OpenFn>(L"virtdisk.dll", "OpenVirtualDisk");
  auto get_info = win::Resolve<GetInfoFn>(L"virtdisk.dll", "GetVirtualDiskInformation");
  auto set_info = win::Resolve<SetInfoFn>(L"virtdisk.dll", "SetVirtualDiskInformation");
  auto query = win::Resolve<QueryFn>(L"virtdisk.dll", "QueryChangesVirtualDisk");
  if (open == nullptr || get_info == nullptr || set_info == nullptr || query == nullptr) {
    RequireResilientChangeTracking();  // throws the documented ERR_NOT_SUPPORTED
    ThrowError(codes::kNotSupported, "virtdisk.dll lacks the functions Resilient Change Tracking needs");
  }
  return std::make_shared<WinVirtDisk>(open, get_info, set_info, query);
}

}  // namespace hvr::rct
