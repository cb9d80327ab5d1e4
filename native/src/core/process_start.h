// When a running process started, to tell it from a later process that the system gave the same id: a
// file naming a process (a lock's holder) outlives a crash and a reboot, and by then its id may belong to
// an unrelated process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hvr {

// Text that stays the same while process `pid` runs and differs for any other process that has or had that
// id, also after a reboot (Linux: the boot id and the start time in clock ticks since boot; Windows: the
// creation time). nullopt when no process has the id now, or the system does not say.
std::optional<std::string> ProcessStartIdentity(uint32_t pid);

}  // namespace hvr
