// JS_ functions of the RCT change tracker: sessions on a virtual disk (the system virtdisk.dll, or the
// fake that the Linux tests drive through the rctFake* controls). Queries run on the thread pool.
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "binding/async_work.h"
#include "binding/registry.h"
#include "core/native_error.h"
#include "tracking/fake_virtdisk.h"
#include "tracking/rct_session.h"

namespace hvr::binding {
namespace {

// Distinguish our externals from any other object a caller might pass.
constexpr napi_type_tag kFakeTag = {0x6876725f66616b65ULL, 0x7669727464736b31ULL};
constexpr napi_type_tag kSessionTag = {0x6876725f72637473ULL, 0x657373696f6e3031ULL};

struct SessionHolder {
  std::shared_ptr<rct::RctSession> session;
};

using FakeRef = std::shared_ptr<rct::FakeVirtDisk>;

FakeRef* FakeArg(const Napi::CallbackInfo& info, size_t index, const char* usage) {
  if (info.Length() <= index || !info[index].IsExternal()) ThrowUsage(info.Env(), usage);
  auto external = info[index].As<Napi::External<FakeRef>>();
  if (!external.CheckTypeTag(&kFakeTag)) ThrowUsage(info.Env(), usage);
  return external.Data();
}

std::shared_ptr<rct::RctSession> SessionArg(const Napi::CallbackInfo& info, const char* usage) {
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowUsage(info.Env(), usage);
  auto external = info[0].As<Napi::External<SessionHolder>>();
  if (!external.CheckTypeTag(&kSessionTag)) ThrowUsage(info.Env(), usage);
  auto session = external.Data()->session;
  if (!session) {
    throw Napi::Error(info.Env(), ToJsError(info.Env(), NativeError(codes::kInvalidArgument, "the RCT session is closed")));
  }
  return session;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* usage) {
  if (info.Length() <= index || !info[index].IsString()) ThrowUsage(info.Env(), usage);
  return info[index].As<Napi::String>();
}

uint64_t NumberArg(const Napi::CallbackInfo& info, size_t index, const char* usage) {
  if (info.Length() <= index || !info[index].IsNumber()) ThrowUsage(info.Env(), usage);
  double value = info[index].As<Napi::Number>().DoubleValue();
  if (value < 0 || value > 9007199254740991.0) ThrowUsage(info.Env(), usage);
  return static_cast<uint64_t>(value);
}

uint64_t OptionalMember(Napi::Object object, const char* name, uint64_t fallback) {
  Napi::Value value = object.Get(name);
  return value.IsNumber() ? static_cast<uint64_t>(value.As<Napi::Number>().DoubleValue()) : fallback;
}

Napi::Value JsFakeCreate(const Napi::CallbackInfo& info) {
  auto external = Napi::External<FakeRef>::New(info.Env(), new FakeRef(std::make_shared<rct::FakeVirtDisk>()),
                                                [](Napi::Env, FakeRef* fake) { delete fake; });
  external.TypeTag(&kFakeTag);
  return external;
}

Napi::Value JsFakeAddDisk(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctFakeAddDisk(fake, path, {virtualSize, granularity?, blockSize?, sectorSize?})";
  FakeRef* fake = FakeArg(info, 0, usage);
  std::string path = StringArg(info, 1, usage);
  if (info.Length() < 3 || !info[2].IsObject()) ThrowUsage(info.Env(), usage);
  Napi::Object options = info[2].As<Napi::Object>();
  rct::FakeDiskOptions disk;
  disk.virtual_size = OptionalMember(options, "virtualSize", 0);
  disk.granularity = static_cast<uint32_t>(OptionalMember(options, "granularity", disk.granularity));
  disk.block_size = static_cast<uint32_t>(OptionalMember(options, "blockSize", disk.block_size));
  disk.sector_size = static_cast<uint32_t>(OptionalMember(options, "sectorSize", disk.sector_size));
  CallSync(info.Env(), [&] { (*fake)->AddDisk(path, disk); });
  return info.Env().Undefined();
}

Napi::Value JsFakeWrite(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctFakeWrite(fake, path, offset, length)";
  FakeRef* fake = FakeArg(info, 0, usage);
  std::string path = StringArg(info, 1, usage);
  uint64_t offset = NumberArg(info, 2, usage);
  uint64_t length = NumberArg(info, 3, usage);
  CallSync(info.Env(), [&] { (*fake)->Write(path, offset, length); });
  return info.Env().Undefined();
}

Napi::Value JsFakeSeal(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctFakeSeal(fake, path)";
  FakeRef* fake = FakeArg(info, 0, usage);
  std::string path = StringArg(info, 1, usage);
  return Napi::String::New(info.Env(), CallSync(info.Env(), [&] { return (*fake)->Seal(path); }));
}

Napi::Value JsFakeModifyOffline(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctFakeModifyOffline(fake, path)";
  FakeRef* fake = FakeArg(info, 0, usage);
  std::string path = StringArg(info, 1, usage);
  CallSync(info.Env(), [&] { (*fake)->ModifyOffline(path); });
  return info.Env().Undefined();
}

Napi::Value JsFakeForgetBefore(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctFakeForgetBefore(fake, path, id)";
  FakeRef* fake = FakeArg(info, 0, usage);
  std::string path = StringArg(info, 1, usage);
  std::string id = StringArg(info, 2, usage);
  CallSync(info.Env(), [&] { (*fake)->ForgetBefore(path, id); });
  return info.Env().Undefined();
}

Napi::Value JsFakeSetQueryBehaviour(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctFakeSetQueryBehaviour(fake, path, {maxRangesPerCall?, maxBytesPerCall?, partialStatus?})";
  FakeRef* fake = FakeArg(info, 0, usage);
  std::string path = StringArg(info, 1, usage);
  if (info.Length() < 3 || !info[2].IsObject()) ThrowUsage(info.Env(), usage);
  Napi::Object options = info[2].As<Napi::Object>();
  rct::FakeQueryBehaviour behaviour;
  behaviour.max_ranges_per_call = static_cast<uint32_t>(OptionalMember(options, "maxRangesPerCall", 0));
  behaviour.max_bytes_per_call = OptionalMember(options, "maxBytesPerCall", 0);
  behaviour.partial_status = static_cast<uint32_t>(OptionalMember(options, "partialStatus", 0));
  CallSync(info.Env(), [&] { (*fake)->SetQueryBehaviour(path, behaviour); });
  return info.Env().Undefined();
}

Napi::Value JsFakeQueryCalls(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctFakeQueryCalls(fake, path)";
  FakeRef* fake = FakeArg(info, 0, usage);
  std::string path = StringArg(info, 1, usage);
  return Napi::Number::New(info.Env(), static_cast<double>(CallSync(info.Env(), [&] { return (*fake)->QueryCalls(path); })));
}

Napi::Value JsOpen(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctOpen(fake|null, path, readOnly)";
  if (info.Length() != 3 || !info[2].IsBoolean()) ThrowUsage(info.Env(), usage);
  std::shared_ptr<rct::VirtDiskApi> api;
  if (!info[0].IsNull()) api = *FakeArg(info, 0, usage);
  std::string path = StringArg(info, 1, usage);
  bool read_only = info[2].As<Napi::Boolean>();
  return PromiseWorker<std::shared_ptr<rct::RctSession>>::Run(
      info.Env(), "hvr.rctOpen",
      [api, path, read_only] {
        auto table = api ? api : rct::SystemVirtDisk();
        return std::make_shared<rct::RctSession>(table, path, read_only);
      },
      [](Napi::Env env, std::shared_ptr<rct::RctSession>& session) -> Napi::Value {
        auto external = Napi::External<SessionHolder>::New(env, new SessionHolder{session},
                                                           [](Napi::Env, SessionHolder* holder) { delete holder; });
        external.TypeTag(&kSessionTag);
        return external;
      });
}

struct InfoResult {
  rct::TrackingState state;
  rct::DiskSize size;
};

Napi::Value JsInfo(const Napi::CallbackInfo& info) {
  auto session = SessionArg(info, "Usage: rctInfo(session)");
  return PromiseWorker<InfoResult>::Run(
      info.Env(), "hvr.rctInfo", [session] { return InfoResult{session->GetTrackingState(), session->GetSize()}; },
      [](Napi::Env env, InfoResult& result) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("enabled", result.state.enabled);
        out.Set("newerChanges", result.state.newer_changes);
        out.Set("mostRecentId", result.state.most_recent_id);
        out.Set("virtualSize", static_cast<double>(result.size.virtual_size));
        out.Set("physicalSize", static_cast<double>(result.size.physical_size));
        out.Set("blockSize", result.size.block_size);
        out.Set("sectorSize", result.size.sector_size);
        return out;
      });
}

Napi::Value JsSetEnabled(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctSetEnabled(session, enabled)";
  auto session = SessionArg(info, usage);
  if (info.Length() != 2 || !info[1].IsBoolean()) ThrowUsage(info.Env(), usage);
  bool enabled = info[1].As<Napi::Boolean>();
  return PromiseWorker<bool>::Run(
      info.Env(), "hvr.rctSetEnabled", [session, enabled] { session->SetTrackingEnabled(enabled); return enabled; },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value JsQuery(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctQuery(session, id, offset, end, maxRanges)";
  auto session = SessionArg(info, usage);
  std::string id = StringArg(info, 1, usage);
  uint64_t offset = NumberArg(info, 2, usage);
  uint64_t end = NumberArg(info, 3, usage);
  uint64_t max_ranges = NumberArg(info, 4, usage);
  if (max_ranges == 0) ThrowUsage(info.Env(), usage);
  return PromiseWorker<rct::QueryPage>::Run(
      info.Env(), "hvr.rctQuery", [=] { return session->Query(id, offset, end, static_cast<size_t>(max_ranges)); },
      [](Napi::Env env, rct::QueryPage& page) -> Napi::Value {
        Napi::Float64Array flat = Napi::Float64Array::New(env, page.ranges.size() * 2);
        for (size_t i = 0; i < page.ranges.size(); ++i) {
          flat[2 * i] = static_cast<double>(page.ranges[i].offset);
          flat[2 * i + 1] = static_cast<double>(page.ranges[i].length);
        }
        Napi::Object out = Napi::Object::New(env);
        out.Set("ranges", flat);
        out.Set("nextOffset", static_cast<double>(page.next_offset));
        return out;
      });
}

Napi::Value JsClose(const Napi::CallbackInfo& info) {
  const char* usage = "Usage: rctClose(session)";
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowUsage(info.Env(), usage);
  auto external = info[0].As<Napi::External<SessionHolder>>();
  if (!external.CheckTypeTag(&kSessionTag)) ThrowUsage(info.Env(), usage);
  // A query still running keeps its own reference; the handle closes when it finishes.
  external.Data()->session.reset();
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("rctFakeCreate", Napi::Function::New(env, JsFakeCreate, "rctFakeCreate"));
  exports.Set("rctFakeAddDisk", Napi::Function::New(env, JsFakeAddDisk, "rctFakeAddDisk"));
  exports.Set("rctFakeWrite", Napi::Function::New(env, JsFakeWrite, "rctFakeWrite"));
  exports.Set("rctFakeSeal", Napi::Function::New(env, JsFakeSeal, "rctFakeSeal"));
  exports.Set("rctFakeModifyOffline", Napi::Function::New(env, JsFakeModifyOffline, "rctFakeModifyOffline"));
  exports.Set("rctFakeForgetBefore", Napi::Function::New(env, JsFakeForgetBefore, "rctFakeForgetBefore"));
  exports.Set("rctFakeSetQueryBehaviour", Napi::Function::New(env, JsFakeSetQueryBehaviour, "rctFakeSetQueryBehaviour"));
  exports.Set("rctFakeQueryCalls", Napi::Function::New(env, JsFakeQueryCalls, "rctFakeQueryCalls"));
  exports.Set("rctOpen", Napi::Function::New(env, JsOpen, "rctOpen"));
  exports.Set("rctInfo", Napi::Function::New(env, JsInfo, "rctInfo"));
  exports.Set("rctSetEnabled", Napi::Function::New(env, JsSetEnabled, "rctSetEnabled"));
  exports.Set("rctQuery", Napi::Function::New(env, JsQuery, "rctQuery"));
  exports.Set("rctClose", Napi::Function::New(env, JsClose, "rctClose"));
}
BindingRegistrar registrar(Register);

}  // namespace
}  // namespace hvr::binding
