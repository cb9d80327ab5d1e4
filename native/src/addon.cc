// The module entry point: every binding file registers itself (binding/registry.h); nothing else here.
#include <napi.h>

#include "binding/registry.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (hvr::binding::RegisterFn fn : hvr::binding::Registry()) fn(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(hvreplica, Init)
