// Running the process as a Windows service: the Service Control Manager's dispatcher runs on its own
// thread (node's main thread belongs to libuv), reports RUNNING, and hands Stop/Shutdown to a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace hvr::hyperv {

// Connects to the SCM as service `name` and returns once it reports SERVICE_RUNNING. `on_stop` runs on
// the dispatcher's thread when the SCM asks the service to stop (the binding forwards it to JS).
// Throws ERR_NOT_SUPPORTED with ERROR_FAILED_SERVICE_CONTROLLER_CONNECT (1063) when the process was not
// started by the SCM.
void StartServiceDispatcher(const std::string& name, std::function<void()> on_stop);

// Reports SERVICE_STOPPED with `exit_code` (0, or a Win32 code the SCM shows in its event) and lets the
// dispatcher thread end.
void ReportServiceStopped(uint32_t exit_code);

}  // namespace hvr::hyperv
