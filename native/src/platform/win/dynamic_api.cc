#include "platform/win/dynamic_api.h"

namespace hvr::win {

FARPROC ResolveSystemFunction(const wchar_t* dll, const char* name) {
  // LOAD_LIBRARY_SEARCH_SYSTEM32 keeps a planted DLL beside the executable from being picked up.
  HMODULE module = LoadLibraryExW(dll, nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (module == nullptr) return nullptr;
  return GetProcAddress(module, name);
}

}  // namespace hvr::win
