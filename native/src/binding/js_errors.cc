#include "binding/js_errors.h"

#include <memory>
#include <new>

#include "binding/registry.h"

namespace hvr::binding {
namespace {

struct AddonData {
  Napi::FunctionReference error_class;
};

AddonData& Data(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  return *data;
}

Napi::Value JsSetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsFunction()) ThrowUsage(info.Env(), "Usage: setErrorClass(ctor)");
  SetErrorClass(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New(env, JsSetErrorClass, "setErrorClass"));
}
BindingRegistrar registrar(Register);

}  // namespace

std::vector<RegisterFn>& Registry() {
  static std::vector<RegisterFn> registry;
  return registry;
}

void SetErrorClass(Napi::Env env, Napi::Function ctor) { Data(env).error_class = Napi::Persistent(ctor); }

Napi::Value ToJsError(Napi::Env env, const NativeError& error) {
  AddonData& data = Data(env);
  if (!data.error_class.IsEmpty()) {
    Napi::Object details = Napi::Object::New(env);
    details.Set("code", error.code());
    details.Set("errno", error.os_errno());
    if (!error.syscall().empty()) details.Set("syscall", error.syscall());
    return data.error_class.New({Napi::String::New(env, error.what()), details});
  }
  Napi::Error js = Napi::Error::New(env, error.what());
  js.Set("code", error.code());
  js.Set("errno", Napi::Number::New(env, error.os_errno()));
  return js.Value();
}

NativeError FromException(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const NativeError& e) {
    return e;
  } catch (const std::bad_alloc&) {
    return NativeError("ERR_OUT_OF_MEMORY", "out of memory");
  } catch (const std::exception& e) {
    return NativeError("ERR_INTERNAL", std::string("internal error: ") + e.what());
  } catch (...) {
    return NativeError("ERR_INTERNAL", "internal error: unknown exception");
  }
}

void ThrowUsage(Napi::Env env, const char* usage) { throw Napi::TypeError::New(env, usage); }

}  // namespace hvr::binding
