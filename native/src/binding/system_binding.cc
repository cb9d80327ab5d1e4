// JS_ functions about the addon and the host: version, host features, a process's start identity, and a
// file probe that exercises the async error path end to end.
#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

#include "binding/async_work.h"
#include "binding/registry.h"
#include "core/file.h"
#include "core/host_features.h"
#include "core/process_start.h"

namespace hvr::binding {
namespace {

constexpr const char* kAddonVersion = "0.1.0";

Napi::Value JsVersion(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kAddonVersion); }

Napi::Value JsHostFeatures(const Napi::CallbackInfo& info) {
  HostFeatures features = ProbeHostFeatures();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("platform", features.platform);
  out.Set("resilientChangeTracking", features.resilient_change_tracking);
  out.Set("volumeShadowCopy", features.volume_shadow_copy);
  return out;
}

Napi::Value JsRequireHostFeature(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString()) ThrowUsage(info.Env(), "Usage: requireHostFeature(name)");
  std::string name = info[0].As<Napi::String>();
  CallSync(info.Env(), [&] {
    if (name == "resilientChangeTracking") {
      RequireResilientChangeTracking();
    } else if (name == "volumeShadowCopy") {
      RequireVolumeShadowCopy();
    } else {
      ThrowError(codes::kInvalidArgument, "unknown host feature '" + name + "'");
    }
  });
  return info.Env().Undefined();
}

Napi::Value JsFileSize(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString()) ThrowUsage(info.Env(), "Usage: fileSize(path)");
  std::string path = info[0].As<Napi::String>();
  return PromiseWorker<uint64_t>::Run(
      info.Env(), "hvr.fileSize", [path] { return File::Open(path, OpenMode::kReadOnly)->Size(); },
      [](Napi::Env env, uint64_t& size) { return Napi::Number::New(env, static_cast<double>(size)); });
}

Napi::Value JsMarkSparse(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString()) ThrowUsage(info.Env(), "Usage: markSparse(path)");
  std::string path = info[0].As<Napi::String>();
  return PromiseWorker<bool>::Run(
      info.Env(), "hvr.markSparse", [path] { return MarkSparse(path); },
      [](Napi::Env env, bool& sparse) { return Napi::Boolean::New(env, sparse); });
}

Napi::Value JsProcessStartIdentity(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsNumber()) ThrowUsage(info.Env(), "Usage: processStartIdentity(pid)");
  std::optional<std::string> identity = ProcessStartIdentity(info[0].As<Napi::Number>().Uint32Value());
  if (!identity) return info.Env().Undefined();
  return Napi::String::New(info.Env(), *identity);
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, JsVersion, "version"));
  exports.Set("hostFeatures", Napi::Function::New(env, JsHostFeatures, "hostFeatures"));
  exports.Set("requireHostFeature", Napi::Function::New(env, JsRequireHostFeature, "requireHostFeature"));
  exports.Set("fileSize", Napi::Function::New(env, JsFileSize, "fileSize"));
  exports.Set("markSparse", Napi::Function::New(env, JsMarkSparse, "markSparse"));
  exports.Set("processStartIdentity", Napi::Function::New(env, JsProcessStartIdentity, "processStartIdentity"));
}
BindingRegistrar registrar(Register);

}  // namespace
}  // namespace hvr::binding
