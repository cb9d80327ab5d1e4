#include "core/native_error.h"

#include <cerrno>
#include <cstring>

namespace hvr {

void ThrowError(const char* code, const std::string& message) { throw NativeError(code, message); }

namespace {
const char* CodeForErrno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return codes::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return codes::kAccessDenied;
    case EEXIST:
      return codes::kAlreadyExists;
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
    case EFBIG:
      return codes::kDiskFull;
    case EINVAL:
      return codes::kInvalidArgument;
    case EIO:
      return codes::kIo;
    default:
      return codes::kOsError;
  }
}
}  // namespace

void ThrowErrno(int err, const std::string& syscall, const std::string& subject) {
  std::string message = syscall + " failed";
  if (!subject.empty()) message += " for '" + subject + "'";
  message += ": ";
  message += std::strerror(err);
  throw NativeError(CodeForErrno(err), message, err, syscall);
}

}  // namespace hvr
