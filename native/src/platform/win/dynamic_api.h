// Windows entry points that older hosts, Server Core without Hyper-V, or Wine may lack. They are looked
// up with GetProcAddress on first use, so their absence is an ERR_NOT_SUPPORTED error, not a load failure.
#pragma once

#include <windows.h>

namespace hvr::win {

// Returns the named export of `dll` (loaded from System32 only), or nullptr when either is missing.
FARPROC ResolveSystemFunction(const wchar_t* dll, const char* name);

template <typename Fn>
Fn Resolve(const wchar_t* dll, const char* name) {
  return reinterpret_cast<Fn>(reinterpret_cast<void*>(ResolveSystemFunction(dll, name)));
}

}  // namespace hvr::win
