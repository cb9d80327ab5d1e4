// What the host operating system offers hvreplica; Windows-only APIs are resolved at run time so the
// addon loads everywhere and reports ERR_NOT_SUPPORTED instead of failing to load.
#pragma once

#include <string>

namespace hvr {

struct HostFeatures {
  std::string platform;  // "posix" or "win32"
  bool resilient_change_tracking = false;  // virtdisk QueryChangesVirtualDisk
  bool volume_shadow_copy = false;         // vssapi CreateVssBackupComponents
};

HostFeatures ProbeHostFeatures();

// Throws ERR_NOT_SUPPORTED naming the feature and what the host needs for it.
void RequireResilientChangeTracking();
void RequireVolumeShadowCopy();

}  // namespace hvr
