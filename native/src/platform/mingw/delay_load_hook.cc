// The addon imports N-API from "node.exe" through a delay-load library; this hook resolves those imports
// from the running executable instead, so the addon also loads in a renamed or embedded node.exe.
// (MSVC builds through node-gyp get node-gyp's own equivalent hook.)
#include <windows.h>
#include <delayimp.h>
#include <string.h>

namespace {
FARPROC WINAPI LoadExeHook(unsigned int event, DelayLoadInfo* info) {
  if (event != dliNotePreLoadLibrary) return nullptr;
  if (_stricmp(info->szDll, "node.exe") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}
}  // namespace

extern "C" {
PfnDliHook __pfnDliNotifyHook2 = LoadExeHook;
}
