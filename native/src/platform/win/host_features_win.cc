#include "core/host_features.h"
#include "core/native_error.h"
#include "platform/win/dynamic_api.h"

namespace hvr {

HostFeatures ProbeHostFeatures() {
  HostFeatures features;
  features.platform = "win32";
  features.resilient_change_tracking = win::ResolveSystemFunction(L"virtdisk.dll", "QueryChangesVirtualDisk") != nullptr;
  features.volume_shadow_copy = win::ResolveSystemFunction(L"vssapi.dll", "CreateVssBackupComponentsInternal") != nullptr;
  return features;
}

void RequireResilientChangeTracking() {
  if (win::ResolveSystemFunction(L"virtdisk.dll", "QueryChangesVirtualDisk") == nullptr) {
    throw NativeError(codes::kNotSupported,
                      "Resilient Change Tracking is not supported on this host: virtdisk.dll has no "
                      "QueryChangesVirtualDisk. It needs Windows Server 2016 or later with the Hyper-V role; "
                      "hvreplica falls back to the checkpoint change tracker.",
                      ERROR_PROC_NOT_FOUND, "GetProcAddress");
  }
}

void RequireVolumeShadowCopy() {
  if (win::ResolveSystemFunction(L"vssapi.dll", "CreateVssBackupComponentsInternal") == nullptr) {
    throw NativeError(codes::kNotSupported,
                      "Volume Shadow Copy is not available on this host: vssapi.dll has no "
                      "CreateVssBackupComponents. Recovery points will be crash-consistent.",
                      ERROR_PROC_NOT_FOUND, "GetProcAddress");
  }
}

}  // namespace hvr
