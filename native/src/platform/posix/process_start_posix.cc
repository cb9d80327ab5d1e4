#include <fstream>
#include <sstream>
#include <string>

#include "core/process_start.h"

namespace hvr {
namespace {

std::optional<std::string> FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return std::nullopt;
  return line;
}

}  // namespace

// Linux: field 22 of /proc/<pid>/stat counts clock ticks from boot, so it is unique only within one boot;
// the boot id (new at every boot) makes it unique across reboots. Elsewhere (no /proc) nothing is known.
std::optional<std::string> ProcessStartIdentity(uint32_t pid) {
  std::optional<std::string> boot = FirstLine("/proc/sys/kernel/random/boot_id");
  std::optional<std::string> stat = FirstLine("/proc/" + std::to_string(pid) + "/stat");
  if (!boot || !stat) return std::nullopt;
  // Field 2 is the command name in parentheses and may itself hold spaces and ')': count from the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  for (int number = 3; number <= 22; ++number) {
    if (!(fields >> field)) return std::nullopt;
  }
  return *boot + "/" + field;
}

}  // namespace hvr
