#include <windows.h>

#include <string>

#include "core/process_start.h"

namespace hvr {

// The creation time, in 100 ns units since 1601: Windows reuses process ids soon, but never for a process
// created at the same instant. PROCESS_QUERY_LIMITED_INFORMATION is granted for the processes of other users
// too (not for protected ones, which then count as unknown).
std::optional<std::string> ProcessStartIdentity(uint32_t pid) {
  HANDLE process = ::OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid));
  if (process == nullptr) return std::nullopt;
  FILETIME created{}, exited{}, kernel{}, user{};
  DWORD exit_code = 0;
  bool known = ::GetProcessTimes(process, &created, &exited, &kernel, &user) != 0 &&
               ::GetExitCodeProcess(process, &exit_code) != 0 && exit_code == STILL_ACTIVE;
  ::CloseHandle(process);
  if (!known) return std::nullopt;
  uint64_t ticks = (static_cast<uint64_t>(created.dwHighDateTime) << 32) | created.dwLowDateTime;
  return std::to_string(ticks);
}

}  // namespace hvr
