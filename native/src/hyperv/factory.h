// The real backends, implemented in platform/win/hyperv/; elsewhere they throw ERR_NOT_SUPPORTED, so
// the addon loads on every platform and the TypeScript layer reports why Hyper-V is unavailable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hyperv/virtual_disk.h"
#include "hyperv/wmi.h"

namespace hvr::hyperv {

// Connects to root\virtualization\v2 on this host. Call on the thread that will use the service
// (COM apartments are per thread); the returned object initialises and releases COM for it.
std::unique_ptr<WmiService> ConnectHyperVWmi();

// The virtdisk functions, resolved at run time from virtdisk.dll in System32.
std::shared_ptr<VirtualDiskApi> SystemVirtualDiskApi();

// Writes one entry to the Application event log under `source` (registered by `service install`).
// level: 0 error, 1 warning, 2 information.
void WriteApplicationEvent(const std::string& source, int level, uint32_t event_id, const std::string& message);

}  // namespace hvr::hyperv
