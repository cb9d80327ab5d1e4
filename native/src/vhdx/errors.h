// Stable error codes of the VHDX engine and helpers that word messages the same way everywhere:
// what is wrong with which file, then what the administrator can do about it.
#pragma once

#include <string>

#include "core/native_error.h"

namespace hvr::vhdx {

namespace codes {
inline constexpr const char* kCorrupt = "ERR_VHDX_CORRUPT";
inline constexpr const char* kUnsupported = "ERR_VHDX_UNSUPPORTED";
inline constexpr const char* kParentNotFound = "ERR_VHDX_PARENT_NOT_FOUND";
inline constexpr const char* kParentMismatch = "ERR_VHDX_PARENT_MISMATCH";
inline constexpr const char* kParentLoop = "ERR_VHDX_PARENT_LOOP";
inline constexpr const char* kReadOnly = "ERR_VHDX_READ_ONLY";
inline constexpr const char* kClosed = "ERR_VHDX_CLOSED";
}  // namespace codes

[[noreturn]] inline void ThrowCorrupt(const std::string& path, const std::string& what) {
  throw NativeError(codes::kCorrupt, "'" + path + "' is not a valid VHDX file: " + what +
                                         ". Restore the file from a good copy; 'hvreplica disk check' lists every problem");
}

[[noreturn]] inline void ThrowUnsupported(const std::string& path, const std::string& what) {
  throw NativeError(codes::kUnsupported,
                    "'" + path + "' uses a VHDX feature this engine refuses to handle: " + what +
                        ". Open it with Hyper-V (or convert it there) instead");
}

[[noreturn]] inline void ThrowInvalid(const std::string& what) { throw NativeError(hvr::codes::kInvalidArgument, what); }

}  // namespace hvr::vhdx
