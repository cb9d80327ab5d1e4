// Off Windows there is no virtdisk.dll: the system table is unavailable (the fake serves the tests).
#include "core/host_features.h"
#include "core/native_error.h"
#include "tracking/virtdisk_api.h"

namespace hvr::rct {

std::shared_ptr<VirtDiskApi> SystemVirtDisk() {
  RequireResilientChangeTracking();
  ThrowError(codes::kNotSupported, "Resilient Change Tracking needs a Windows Hyper-V host");
}

}  // namespace hvr::rct
