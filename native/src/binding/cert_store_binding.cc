// JS functions over the Windows system certificate store (core/system_cert_store.h). Every call runs off
// the main thread: opening a machine store can wait on the CNG key isolation service.
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "binding/async_work.h"
#include "binding/registry.h"
#include "core/native_error.h"
#include "core/system_cert_store.h"

namespace hvr::binding {
namespace {

SystemStoreLocation LocationArg(const Napi::Value& value) {
  std::string name = value.As<Napi::String>();
  if (name == "LocalMachine") return SystemStoreLocation::kLocalMachine;
  if (name == "CurrentUser") return SystemStoreLocation::kCurrentUser;
  ThrowError(codes::kInvalidArgument, "store location must be LocalMachine or CurrentUser, got '" + name + "'");
}

std::vector<uint8_t> BytesArg(const Napi::Value& value) {
  auto buffer = value.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(buffer.Data(), buffer.Data() + buffer.Length());
}

Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const std::vector<uint8_t>& bytes) {
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

Napi::Value JsSystemCertificates(const Napi::CallbackInfo& info) {
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString()) {
    ThrowUsage(info.Env(), "Usage: systemCertificates(location, store)");
  }
  SystemStoreLocation location = CallSync(info.Env(), [&] { return LocationArg(info[0]); });
  std::string store = info[1].As<Napi::String>();
  return PromiseWorker<std::vector<SystemCertificate>>::Run(
      info.Env(), "hvr.systemCertificates", [location, store] { return ListSystemCertificates(location, store); },
      [](Napi::Env env, std::vector<SystemCertificate>& found) {
        Napi::Array out = Napi::Array::New(env, found.size());
        for (uint32_t i = 0; i < found.size(); ++i) {
          Napi::Object entry = Napi::Object::New(env);
          entry.Set("der", ToBuffer(env, found[i].der));
          entry.Set("hasPrivateKey", found[i].has_private_key);
          out.Set(i, entry);
        }
        return out;
      });
}

Napi::Value JsExportSystemCertificate(const Napi::CallbackInfo& info) {
  if (info.Length() != 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsBuffer() || !info[3].IsString()) {
    ThrowUsage(info.Env(), "Usage: exportSystemCertificate(location, store, sha1: Buffer, password)");
  }
  SystemStoreLocation location = CallSync(info.Env(), [&] { return LocationArg(info[0]); });
  std::string store = info[1].As<Napi::String>();
  std::vector<uint8_t> sha1 = BytesArg(info[2]);
  std::string password = info[3].As<Napi::String>();
  return PromiseWorker<ExportedCertificate>::Run(
      info.Env(), "hvr.exportSystemCertificate",
      [location, store, sha1, password] { return ExportSystemCertificate(location, store, sha1, password); },
      [](Napi::Env env, ExportedCertificate& exported) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        if (!exported.pfx.empty()) out.Set("pfx", ToBuffer(env, exported.pfx));
        if (!exported.der.empty()) out.Set("der", ToBuffer(env, exported.der));
        if (!exported.rsa_private_key_blob.empty()) out.Set("rsaPrivateKeyBlob", ToBuffer(env, exported.rsa_private_key_blob));
        return out;
      });
}

Napi::Value JsImportSystemCertificates(const Napi::CallbackInfo& info) {
  if (info.Length() != 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsBuffer() || !info[3].IsString()) {
    ThrowUsage(info.Env(), "Usage: importSystemCertificates(location, store, pfx: Buffer, password)");
  }
  SystemStoreLocation location = CallSync(info.Env(), [&] { return LocationArg(info[0]); });
  std::string store = info[1].As<Napi::String>();
  std::vector<uint8_t> pfx = BytesArg(info[2]);
  std::string password = info[3].As<Napi::String>();
  return PromiseWorker<std::vector<std::vector<uint8_t>>>::Run(
      info.Env(), "hvr.importSystemCertificates",
      [location, store, pfx, password] { return ImportSystemCertificates(location, store, pfx, password); },
      [](Napi::Env env, std::vector<std::vector<uint8_t>>& ders) {
        Napi::Array out = Napi::Array::New(env, ders.size());
        for (uint32_t i = 0; i < ders.size(); ++i) out.Set(i, ToBuffer(env, ders[i]));
        return out;
      });
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("systemCertificates", Napi::Function::New(env, JsSystemCertificates, "systemCertificates"));
  exports.Set("exportSystemCertificate", Napi::Function::New(env, JsExportSystemCertificate, "exportSystemCertificate"));
  exports.Set("importSystemCertificates",
              Napi::Function::New(env, JsImportSystemCertificates, "importSystemCertificates"));
}
BindingRegistrar registrar(Register);

}  // namespace
}  // namespace hvr::binding
