#include <windows.h>

#include <cstdio>

#include "core/native_error.h"

namespace hvr {
namespace {

std::string SystemMessage(DWORD code) {
  char* text = nullptr;
  DWORD len = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                 FORMAT_MESSAGE_IGNORE_INSERTS,
                             nullptr, code, 0, reinterpret_cast<char*>(&text), 0, nullptr);
  std::string message;
  if (len > 0 && text != nullptr) {
    message.assign(text, len);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == ' ')) {
      message.pop_back();
    }
  }
  if (text != nullptr) LocalFree(text);
  if (message.empty()) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "error 0x%08lX", static_cast<unsigned long>(code));
    message = hex;
  }
  return message;
}

const char* CodeForWin32(DWORD err) {
  switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
      return codes::kNotFound;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
      return codes::kAccessDenied;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return codes::kAlreadyExists;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return codes::kDiskFull;
    case ERROR_INVALID_PARAMETER:
      return codes::kInvalidArgument;
    case ERROR_PROC_NOT_FOUND:
    case ERROR_CALL_NOT_IMPLEMENTED:
    case ERROR_NOT_SUPPORTED:
      return codes::kNotSupported;
    default:
      return codes::kOsError;
  }
}

std::string Compose(const std::string& syscall, const std::string& subject, const std::string& text) {
  std::string message = syscall + " failed";
  if (!subject.empty()) message += " for '" + subject + "'";
  return message + ": " + text;
}

}  // namespace

void ThrowWin32(unsigned long err, const std::string& syscall, const std::string& subject) {
  throw NativeError(CodeForWin32(err), Compose(syscall, subject, SystemMessage(err)), static_cast<int>(err),
                    syscall);
}

void ThrowHresult(long hr, const std::string& syscall, const std::string& subject) {
  // A Win32 error wrapped in an HRESULT keeps its Win32 meaning and code.
  if (HRESULT_FACILITY(hr) == FACILITY_WIN32) ThrowWin32(HRESULT_CODE(hr), syscall, subject);
  const char* code = hr == E_NOTIMPL ? codes::kNotSupported
                     : hr == E_ACCESSDENIED ? codes::kAccessDenied
                     : hr == E_INVALIDARG ? codes::kInvalidArgument
                                          : codes::kOsError;
  throw NativeError(code, Compose(syscall, subject, SystemMessage(static_cast<DWORD>(hr))), static_cast<int>(hr),
                    syscall);
}

}  // namespace hvr
