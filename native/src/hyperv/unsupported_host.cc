// The Hyper-V backends on hosts without Windows: every entry point explains itself instead of the
// addon failing to load or link.
#ifndef _WIN32

#include "core/native_error.h"
#include "hyperv/factory.h"

namespace hvr::hyperv {
namespace {
[[noreturn]] void Unsupported(const char* what) {
  throw NativeError(codes::kNotSupported, std::string(what) +
                                              " needs Windows with the Hyper-V role; on this host use the file host "
                                              "adapter (hvreplica's portable VM folders)");
}
}  // namespace

std::unique_ptr<WmiService> ConnectHyperVWmi() { Unsupported("Hyper-V management (WMI root\\virtualization\\v2)"); }
std::shared_ptr<VirtualDiskApi> SystemVirtualDiskApi() { Unsupported("Opening virtual disks through virtdisk"); }
void WriteApplicationEvent(const std::string&, int, uint32_t, const std::string&) {
  Unsupported("The Windows Application event log");
}

}  // namespace hvr::hyperv

#endif  // _WIN32

#ifndef _WIN32
#include "hyperv/windows_service.h"

namespace hvr::hyperv {
void StartServiceDispatcher(const std::string&, std::function<void()>) {
  throw NativeError(codes::kNotSupported,
                    "Windows services exist only on Windows; on Linux hvreplica runs as a systemd unit "
                    "('hvreplica service install' writes it)");
}
void ReportServiceStopped(uint32_t) {}
}  // namespace hvr::hyperv
#endif  // _WIN32
