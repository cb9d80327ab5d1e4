#include <cstdio>

#include "core/native_error.h"
#include "tracking/rct_session.h"

namespace hvr::rct {

const char* VirtDiskErrorName(uint32_t status) {
  switch (status) {
    case err::kFileNotFound: return "ERROR_FILE_NOT_FOUND";
    case err::kInvalidHandle: return "ERROR_INVALID_HANDLE";
    case err::kInvalidParameter: return "ERROR_INVALID_PARAMETER";
    case err::kInsufficientBuffer: return "ERROR_INSUFFICIENT_BUFFER";
    case err::kMoreData: return "ERROR_MORE_DATA";
    case err::kCtlogTrackingNotInitialized: return "ERROR_CTLOG_TRACKING_NOT_INITIALIZED";
    case err::kCtlogLogfileSizeExceededMaxsize: return "ERROR_CTLOG_LOGFILE_SIZE_EXCEEDED_MAXSIZE";
    case err::kCtlogVhdChangedOffline: return "ERROR_CTLOG_VHD_CHANGED_OFFLINE";
    case err::kCtlogInvalidTrackingState: return "ERROR_CTLOG_INVALID_TRACKING_STATE";
    case err::kCtlogInconsistentTrackingFile: return "ERROR_CTLOG_INCONSISTENT_TRACKING_FILE";
    case err::kVhdInvalidChangeTrackingId: return "ERROR_VHD_INVALID_CHANGE_TRACKING_ID";
    case err::kVhdChangeTrackingDisabled: return "ERROR_VHD_CHANGE_TRACKING_DISABLED";
    case err::kVhdMissingChangeTrackingInformation: return "ERROR_VHD_MISSING_CHANGE_TRACKING_INFORMATION";
    default: return nullptr;
  }
}

namespace {

bool IsTrackingStatus(uint32_t status) {
  return (status >= err::kCtlogTrackingNotInitialized && status <= err::kCtlogInconsistentTrackingFile) ||
         status == err::kVhdInvalidChangeTrackingId || status == err::kVhdChangeTrackingDisabled ||
         status == err::kVhdMissingChangeTrackingInformation;
}

// Which status a stale but well-formed id yields is not documented, so from a query the whole
// virtualization facility (0xC03A00xx) and ERROR_INVALID_PARAMETER mean the chain is broken.
bool IsBrokenChainFromQuery(uint32_t status) {
  return (status & 0xFFFFFF00u) == 0xC03A0000u || status == err::kInvalidParameter;
}

}  // namespace

void ThrowVirtDiskError(uint32_t status, const std::string& call, const std::string& subject) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(status));
  const char* name = VirtDiskErrorName(status);
  std::string what = call + " failed for '" + subject + "' with " + (name ? std::string(name) + " (" + hex + ")" : hex);
  const bool query = call == "QueryChangesVirtualDisk";
  if (IsTrackingStatus(status) || (query && IsBrokenChainFromQuery(status))) {
    throw NativeError(codes::kResyncRequired,
                      what + ": change tracking cannot list the changes since this id; the disk needs a resynchronisation",
                      static_cast<int>(status), call);
  }
  if (status == err::kFileNotFound) {
    throw NativeError(codes::kNotFound, what + ": check that the virtual disk exists", static_cast<int>(status), call);
  }
  throw NativeError(codes::kOsError, what, static_cast<int>(status), call);
}

}  // namespace hvr::rct
