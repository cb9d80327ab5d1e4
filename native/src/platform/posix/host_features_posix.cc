#include "core/host_features.h"
#include "core/native_error.h"

namespace hvr {

HostFeatures ProbeHostFeatures() {
  HostFeatures features;
  features.platform = "posix";
  return features;
}

void RequireResilientChangeTracking() {
  ThrowError(codes::kNotSupported,
             "Resilient Change Tracking is not supported on this host: it needs a Windows Server 2016 or later "
             "Hyper-V host. Use the checkpoint or hash change tracker here.");
}

void RequireVolumeShadowCopy() {
  ThrowError(codes::kNotSupported,
             "Volume Shadow Copy is not supported on this host: application-consistent recovery points need a "
             "Windows Hyper-V host. Crash-consistent points work everywhere.");
}

}  // namespace hvr
