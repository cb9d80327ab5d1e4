// The one error type the plain C++ core throws. The binding turns it into the TypeScript NativeError,
// so every failure reaches callers with a stable code, the OS error number and an actionable message.
#pragma once

#include <stdexcept>
#include <string>

namespace hvr {

// Stable codes shared with src/native/native-error.ts; never renumber or rename, only add.
namespace codes {
inline constexpr const char* kInvalidArgument = "ERR_INVALID_ARGUMENT";
inline constexpr const char* kNotSupported = "ERR_NOT_SUPPORTED";
inline constexpr const char* kNotFound = "ERR_NOT_FOUND";
inline constexpr const char* kAccessDenied = "ERR_ACCESS_DENIED";
inline constexpr const char* kAlreadyExists = "ERR_ALREADY_EXISTS";
inline constexpr const char* kDiskFull = "ERR_DISK_FULL";
inline constexpr const char* kIo = "ERR_IO";
inline constexpr const char* kResyncRequired = "ERR_RESYNC_REQUIRED";
inline constexpr const char* kOsError = "ERR_OS";
}  // namespace codes

class NativeError : public std::runtime_error {
 public:
  NativeError(std::string code, std::string message, int os_errno = 0, std::string syscall = {})
      : std::runtime_error(std::move(message)),
        code_(std::move(code)),
        os_errno_(os_errno),
        syscall_(std::move(syscall)) {}

  const std::string& code() const { return code_; }
  // errno on POSIX, the Win32 error or HRESULT on Windows; 0 when the error is not from the OS.
  int os_errno() const { return os_errno_; }
  const std::string& syscall() const { return syscall_; }

 private:
  std::string code_;
  int os_errno_;
  std::string syscall_;
};

[[noreturn]] void ThrowError(const char* code, const std::string& message);

// Maps an errno value to a stable code and a message naming what failed.
[[noreturn]] void ThrowErrno(int err, const std::string& syscall, const std::string& subject);

#ifdef _WIN32
// Maps a Win32 error (GetLastError) to a stable code and the system's own text for it.
[[noreturn]] void ThrowWin32(unsigned long err, const std::string& syscall, const std::string& subject);
// Maps an HRESULT (COM, WMI, VSS) to a stable code and the system's own text for it.
[[noreturn]] void ThrowHresult(long hr, const std::string& syscall, const std::string& subject);
#endif

}  // namespace hvr
