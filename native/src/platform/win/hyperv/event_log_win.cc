// The Application event log, through advapi32's RegisterEventSourceW/ReportEventW, resolved at run
// time like every other optional Windows API (Wine and stripped-down images may lack them).
#include <windows.h>

#include <string>

#include "core/native_error.h"
#include "hyperv/factory.h"
#include "platform/win/dynamic_api.h"
#include "platform/win/utf16.h"

namespace hvr::hyperv {
namespace {

using RegisterFn = HANDLE(WINAPI*)(LPCWSTR, LPCWSTR);
using ReportFn = BOOL(WINAPI*)(HANDLE, WORD, WORD, DWORD, PSID, WORD, DWORD, LPCWSTR*, LPVOID);
using DeregisterFn = BOOL(WINAPI*)(HANDLE);

}  // namespace

void WriteApplicationEvent(const std::string& source, int level, uint32_t event_id, const std::string& message) {
  auto reg = win::Resolve<RegisterFn>(L"advapi32.dll", "RegisterEventSourceW");
  auto report = win::Resolve<ReportFn>(L"advapi32.dll", "ReportEventW");
  auto dereg = win::Resolve<DeregisterFn>(L"advapi32.dll", "DeregisterEventSource");
  if (reg == nullptr || report == nullptr || dereg == nullptr) {
    throw NativeError(codes::kNotSupported, "this Windows has no event log API (advapi32 RegisterEventSourceW)",
                      ERROR_PROC_NOT_FOUND, "GetProcAddress");
  }
  std::wstring wsource = Utf8ToWide(source);
  HANDLE log = reg(nullptr, wsource.c_str());
  if (log == nullptr) ThrowWin32(GetLastError(), "RegisterEventSourceW", source);
  const WORD type = level == 0 ? EVENTLOG_ERROR_TYPE : level == 1 ? EVENTLOG_WARNING_TYPE : EVENTLOG_INFORMATION_TYPE;
  std::wstring text = Utf8ToWide(message);
  LPCWSTR strings[1] = {text.c_str()};
  BOOL ok = report(log, type, 0, event_id, nullptr, 1, 0, strings, nullptr);
  DWORD err = ok ? ERROR_SUCCESS : GetLastError();
  dereg(log);
  if (!ok) ThrowWin32(err, "ReportEventW", source);
}

}  // namespace hvr::hyperv
