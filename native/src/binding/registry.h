// Each binding file registers its JS_* functions here with a static BindingRegistrar, so adding a
// binding never means editing addon.cc.
#pragma once

#include <napi.h>

#include <vector>

namespace hvr::binding {

using RegisterFn = void (*)(Napi::Env env, Napi::Object exports);

std::vector<RegisterFn>& Registry();

struct BindingRegistrar {
  explicit BindingRegistrar(RegisterFn fn) { Registry().push_back(fn); }
};

}  // namespace hvr::binding
