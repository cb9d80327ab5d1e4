#include <windows.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/native_error.h"
#include "hyperv/windows_service.h"
#include "platform/win/utf16.h"

namespace hvr::hyperv {
namespace {

struct ServiceState {
  std::mutex mutex;
  std::condition_variable changed;
  std::wstring name;
  std::function<void()> on_stop;
  SERVICE_STATUS_HANDLE handle = nullptr;
  SERVICE_STATUS status{};
  bool running = false;
  bool finished = false;  // dispatcher returned (or failed)
  DWORD dispatcher_error = 0;
  HANDLE stopped = nullptr;  // set by ReportServiceStopped; ServiceMain returns after it
};

ServiceState g_service;

void SetStatus(DWORD state, DWORD exit_code, DWORD wait_hint) {
  g_service.status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  g_service.status.dwCurrentState = state;
  g_service.status.dwWin32ExitCode = exit_code;
  g_service.status.dwWaitHint = wait_hint;
  g_service.status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING) {
    ++g_service.status.dwCheckPoint;
  } else {
    g_service.status.dwCheckPoint = 0;
  }
  SetServiceStatus(g_service.handle, &g_service.status);
}

DWORD WINAPI Handler(DWORD control, DWORD, LPVOID, LPVOID) {
  if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
    // A replication cycle may need a while to reach a safe point; the wait hint keeps the SCM patient.
    SetStatus(SERVICE_STOP_PENDING, NO_ERROR, 60000);
    if (g_service.on_stop) g_service.on_stop();
    return NO_ERROR;
  }
  return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

void WINAPI ServiceMain(DWORD, LPWSTR*) {
  g_service.handle = RegisterServiceCtrlHandlerExW(g_service.name.c_str(), Handler, nullptr);
  if (g_service.handle == nullptr) return;
  SetStatus(SERVICE_RUNNING, NO_ERROR, 0);
  {
    std::lock_guard<std::mutex> lock(g_service.mutex);
    g_service.running = true;
  }
  g_service.changed.notify_all();
  WaitForSingleObject(g_service.stopped, INFINITE);
}

}  // namespace

void StartServiceDispatcher(const std::string& name, std::function<void()> on_stop) {
  {
    std::lock_guard<std::mutex> lock(g_service.mutex);
    if (g_service.stopped != nullptr) {
      throw NativeError(codes::kAlreadyExists, "this process is already connected to the Service Control Manager");
    }
    g_service.name = Utf8ToWide(name);
    g_service.on_stop = std::move(on_stop);
    g_service.stopped = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (g_service.stopped == nullptr) ThrowWin32(GetLastError(), "CreateEventW", name);
  }
  // StartServiceCtrlDispatcherW blocks for the life of the service, so it gets its own thread.
  std::thread([] {
    SERVICE_TABLE_ENTRYW table[] = {{const_cast<LPWSTR>(g_service.name.c_str()), ServiceMain}, {nullptr, nullptr}};
    DWORD error = StartServiceCtrlDispatcherW(table) ? 0 : GetLastError();
    {
      std::lock_guard<std::mutex> lock(g_service.mutex);
      g_service.finished = true;
      g_service.dispatcher_error = error;
    }
    g_service.changed.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(g_service.mutex);
  g_service.changed.wait(lock, [] { return g_service.running || g_service.finished; });
  if (!g_service.running) {
    DWORD error = g_service.dispatcher_error;
    CloseHandle(g_service.stopped);
    g_service.stopped = nullptr;
    if (error == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
      throw NativeError(codes::kNotSupported,
                        "this process was not started by the Service Control Manager (error 1063); install the "
                        "service with 'hvreplica service install' and start it with 'Start-Service " + name + "'",
                        static_cast<int>(error), "StartServiceCtrlDispatcherW");
    }
    ThrowWin32(error == 0 ? ERROR_SERVICE_NOT_ACTIVE : error, "StartServiceCtrlDispatcherW", name);
  }
}

void ReportServiceStopped(uint32_t exit_code) {
  std::lock_guard<std::mutex> lock(g_service.mutex);
  if (!g_service.running) return;
  SetStatus(SERVICE_STOPPED, exit_code, 0);
  g_service.running = false;
  SetEvent(g_service.stopped);
}

}  // namespace hvr::hyperv
