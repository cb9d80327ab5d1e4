// JS_ functions of the Hyper-V host adapter (exports.hyperv). Each host operation takes an argument
// object and, optionally, fakes: { wmi, clock, virtdisk } — JavaScript objects that stand in for
// root\virtualization\v2, time and virtdisk.dll. With fakes the portable workflow in native/src/hyperv
// runs synchronously on the JS thread against them (how it is tested on Linux); without, it runs on
// the thread pool against the real Windows backends (ERR_NOT_SUPPORTED elsewhere).
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "binding/async_work.h"
#include "binding/js_errors.h"
#include "binding/registry.h"
#include "core/native_error.h"
#include "hyperv/factory.h"
#include "hyperv/host.h"
#include "hyperv/rct_match.h"
#include "hyperv/virtual_disk.h"
#include "hyperv/windows_service.h"
#include "hyperv/wmi_errors.h"

namespace hvr::binding {
namespace {

using namespace hvr::hyperv;

// ---- JS <-> WMI values -------------------------------------------------------------------------

WmiValue ToWmiValue(const Napi::Value& v) {
  if (v.IsBoolean()) return WmiValue::Bool(v.As<Napi::Boolean>().Value());
  if (v.IsNumber()) return WmiValue::Int(v.As<Napi::Number>().Int64Value());
  if (v.IsString()) return WmiValue::Str(v.As<Napi::String>().Utf8Value());
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    bool numbers = a.Length() > 0 && a.Get(0u).IsNumber();
    std::vector<std::string> strings;
    std::vector<int64_t> ints;
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value item = a.Get(i);
      if (numbers) {
        ints.push_back(item.ToNumber().Int64Value());
      } else {
        strings.push_back(item.ToString().Utf8Value());
      }
    }
    return numbers ? WmiValue::Ints(std::move(ints)) : WmiValue::Strs(std::move(strings));
  }
  return WmiValue::Null();
}

Napi::Value FromWmiValue(Napi::Env env, const WmiValue& v) {
  switch (v.kind) {
    case WmiValue::Kind::kBool: return Napi::Boolean::New(env, v.boolean);
    case WmiValue::Kind::kInt: return Napi::Number::New(env, static_cast<double>(v.integer));
    case WmiValue::Kind::kString: return Napi::String::New(env, v.text);
    case WmiValue::Kind::kStrings: {
      Napi::Array a = Napi::Array::New(env, v.strings.size());
      for (uint32_t i = 0; i < v.strings.size(); ++i) a.Set(i, v.strings[i]);
      return a;
    }
    case WmiValue::Kind::kInts: {
      Napi::Array a = Napi::Array::New(env, v.integers.size());
      for (uint32_t i = 0; i < v.integers.size(); ++i) a.Set(i, Napi::Number::New(env, static_cast<double>(v.integers[i])));
      return a;
    }
    default: return env.Null();
  }
}

Napi::Object FromParams(Napi::Env env, const WmiParams& params) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, value] : params) o.Set(name, FromWmiValue(env, value));
  return o;
}

WmiObject ToWmiObject(const Napi::Value& v) {
  WmiObject out;
  if (!v.IsObject()) return out;
  Napi::Object o = v.As<Napi::Object>();
  if (o.Get("path").IsString()) out.path = o.Get("path").As<Napi::String>();
  if (o.Get("className").IsString()) out.class_name = o.Get("className").As<Napi::String>();
  Napi::Value props = o.Get("properties");
  if (props.IsObject()) {
    Napi::Object p = props.As<Napi::Object>();
    Napi::Array names = p.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).As<Napi::String>();
      out.properties[name] = ToWmiValue(p.Get(name));
    }
  }
  return out;
}

// A fake that throws { hresult } reports a WMI failure the way IWbemServices does.
[[noreturn]] void RethrowFromFake(const Napi::Error& e, const std::string& call, const std::string& subject) {
  Napi::Value v = e.Value();
  if (v.IsObject()) {
    Napi::Value hr = v.As<Napi::Object>().Get("hresult");
    if (hr.IsNumber()) {
      throw WbemError(static_cast<uint32_t>(hr.As<Napi::Number>().Int64Value()), call, subject);
    }
  }
  throw e;
}

Napi::Function Method(const Napi::Object& o, const char* name) {
  Napi::Value fn = o.Get(name);
  if (!fn.IsFunction()) {
    throw Napi::TypeError::New(o.Env(), std::string("the fake has no function '") + name + "'");
  }
  return fn.As<Napi::Function>();
}

class JsWmi final : public WmiService {
 public:
  explicit JsWmi(Napi::Object fake) : fake_(fake) {}

  std::vector<WmiObject> Query(const std::string& wql) override {
    Napi::Value r = Call("query", "IWbemServices::ExecQuery", wql, {Napi::String::New(fake_.Env(), wql)});
    std::vector<WmiObject> out;
    if (r.IsArray()) {
      Napi::Array a = r.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(ToWmiObject(a.Get(i)));
    }
    return out;
  }
  WmiObject GetObject(const std::string& path) override {
    return ToWmiObject(Call("getObject", "IWbemServices::GetObject", path, {Napi::String::New(fake_.Env(), path)}));
  }
  WmiObject ExecMethod(const std::string& path, const std::string& method, const WmiParams& in) override {
    Napi::Env env = fake_.Env();
    return ToWmiObject(Call("execMethod", "IWbemServices::ExecMethod(" + method + ")", path,
                            {Napi::String::New(env, path), Napi::String::New(env, method), FromParams(env, in)}));
  }
  std::string EmbedInstance(const std::string& class_or_path, const WmiParams& properties) override {
    Napi::Env env = fake_.Env();
    Napi::Value r = Call("embedInstance", "IWbemObjectTextSrc::GetText", class_or_path,
                         {Napi::String::New(env, class_or_path), FromParams(env, properties)});
    return r.IsString() ? r.As<Napi::String>().Utf8Value() : std::string();
  }

 private:
  Napi::Value Call(const char* fn, const std::string& call, const std::string& subject,
                   const std::vector<napi_value>& args) {
    try {
      return Method(fake_, fn).Call(fake_, args);
    } catch (const Napi::Error& e) {
      RethrowFromFake(e, call, subject);
    }
  }
  Napi::Object fake_;
};

class JsClock final : public Clock {
 public:
  explicit JsClock(Napi::Object fake) : fake_(fake) {}
  uint64_t NowMs() override {
    return static_cast<uint64_t>(Method(fake_, "now").Call(fake_, {}).ToNumber().Int64Value());
  }
  void SleepMs(uint64_t ms) override {
    Method(fake_, "sleep").Call(fake_, {Napi::Number::New(fake_.Env(), static_cast<double>(ms))});
  }

 private:
  Napi::Object fake_;
};

class JsVirtualDisk final : public VirtualDiskApi {
 public:
  explicit JsVirtualDisk(Napi::Object fake) : fake_(Napi::Persistent(fake)) {}

  uint32_t Open(const std::string& path, bool read_only, Handle* handle) override {
    Napi::Env env = fake_.Env();
    Napi::Object r = Call("open", {Napi::String::New(env, path), Napi::Boolean::New(env, read_only)});
    uint32_t status = Status(r);
    if (status == 0) *handle = static_cast<Handle>(r.Get("handle").ToNumber().Int64Value());
    return status;
  }
  uint32_t AttachRaw(Handle handle, bool read_only) override {
    Napi::Env env = fake_.Env();
    return Status(Call("attach", {Num(handle), Napi::Boolean::New(env, read_only)}));
  }
  uint32_t Geometry(Handle handle, VirtualDiskGeometry* out) override {
    Napi::Object r = Call("geometry", {Num(handle)});
    uint32_t status = Status(r);
    if (status != 0) return status;
    out->virtual_size = static_cast<uint64_t>(r.Get("virtualSize").ToNumber().Int64Value());
    out->block_size = r.Get("blockSize").ToNumber().Uint32Value();
    out->sector_size = r.Get("sectorSize").ToNumber().Uint32Value();
    out->physical_sector_size = r.Get("physicalSectorSize").ToNumber().Uint32Value();
    return 0;
  }
  uint32_t Read(Handle handle, uint64_t offset, void* buffer, uint32_t length, uint32_t* done) override {
    Napi::Object r = Call("read", {Num(handle), Num(offset), Num(length)});
    uint32_t status = Status(r);
    *done = 0;
    if (status != 0) return status;
    Napi::Value data = r.Get("data");
    if (data.IsTypedArray()) {
      Napi::Uint8Array bytes = data.As<Napi::Uint8Array>();
      size_t n = bytes.ByteLength() < length ? bytes.ByteLength() : length;
      std::memcpy(buffer, bytes.Data(), n);
      *done = static_cast<uint32_t>(n);
    }
    return 0;
  }
  uint32_t Write(Handle handle, uint64_t offset, const void* buffer, uint32_t length, uint32_t* done) override {
    Napi::Env env = fake_.Env();
    Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(buffer), length);
    Napi::Object r = Call("write", {Num(handle), Num(offset), data});
    uint32_t status = Status(r);
    *done = status == 0 ? r.Get("written").ToNumber().Uint32Value() : 0;
    return status;
  }
  void Close(Handle handle) override { Method(fake_.Value(), "close").Call(fake_.Value(), {Num(handle)}); }
  std::string SystemText(uint32_t error) override {
    Napi::Value fn = fake_.Value().Get("systemText");
    if (!fn.IsFunction()) return {};
    Napi::Value r = fn.As<Napi::Function>().Call(fake_.Value(), {Num(error)});
    return r.IsString() ? r.As<Napi::String>().Utf8Value() : std::string();
  }

 private:
  Napi::Value Num(uint64_t v) { return Napi::Number::New(fake_.Env(), static_cast<double>(v)); }
  Napi::Object Call(const char* fn, const std::vector<napi_value>& args) {
    Napi::Value r = Method(fake_.Value(), fn).Call(fake_.Value(), args);
    if (r.IsNumber()) {
      Napi::Object o = Napi::Object::New(fake_.Env());
      o.Set("status", r);
      return o;
    }
    if (!r.IsObject()) throw Napi::TypeError::New(fake_.Env(), std::string("fake virtdisk.") + fn + " returned no object");
    return r.As<Napi::Object>();
  }
  static uint32_t Status(const Napi::Object& r) {
    Napi::Value s = r.Get("status");
    return s.IsNumber() ? s.As<Napi::Number>().Uint32Value() : 0;
  }
  Napi::ObjectReference fake_;
};

// ---- argument helpers --------------------------------------------------------------------------

std::string Str(const Napi::Object& o, const char* name, bool required = true) {
  Napi::Value v = o.Get(name);
  if (v.IsString()) return v.As<Napi::String>();
  if (required) throw Napi::TypeError::New(o.Env(), std::string("'") + name + "' must be a string");
  return {};
}

std::vector<std::string> Strs(const Napi::Object& o, const char* name) {
  std::vector<std::string> out;
  Napi::Value v = o.Get(name);
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).ToString().Utf8Value());
  return out;
}

JobTimeouts TimeoutsOf(const Napi::Object& o) {
  JobTimeouts t;
  if (o.Get("jobTimeoutMs").IsNumber()) t.job_timeout_ms = static_cast<uint64_t>(o.Get("jobTimeoutMs").ToNumber().Int64Value());
  if (o.Get("pollIntervalMs").IsNumber()) t.poll_interval_ms = static_cast<uint64_t>(o.Get("pollIntervalMs").ToNumber().Int64Value());
  if (t.poll_interval_ms == 0) t.poll_interval_ms = 1;
  return t;
}

Napi::Object ArgsOf(const Napi::CallbackInfo& info, const char* usage) {
  if (info.Length() < 1 || !info[0].IsObject()) ThrowUsage(info.Env(), usage);
  return info[0].As<Napi::Object>();
}

// ---- results to JS -----------------------------------------------------------------------------

Napi::Object JsSummary(Napi::Env env, const VmSummary& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", s.id);
  o.Set("name", s.name);
  o.Set("state", s.state);
  o.Set("enabledState", Napi::Number::New(env, static_cast<double>(s.enabled_state)));
  return o;
}

Napi::Array JsDisks(Napi::Env env, const std::vector<DiskInfo>& disks) {
  Napi::Array a = Napi::Array::New(env, disks.size());
  for (uint32_t i = 0; i < disks.size(); ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("instanceId", disks[i].instance_id);
    d.Set("deviceKey", disks[i].device_key);
    d.Set("path", disks[i].path);
    if (disks[i].virtual_size != 0) {
      d.Set("virtualSize", Napi::Number::New(env, static_cast<double>(disks[i].virtual_size)));
      d.Set("logicalSectorSize", disks[i].logical_sector_size);
    }
    a.Set(i, d);
  }
  return a;
}

Napi::Array JsStrings(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (uint32_t i = 0; i < v.size(); ++i) a.Set(i, v[i]);
  return a;
}

Napi::Object JsVmInfo(Napi::Env env, const VmInfo& info) {
  Napi::Object o = JsSummary(env, info.summary);
  o.Set("generation", info.generation);
  o.Set("configurationVersion", info.configuration_version);
  o.Set("rctSupported", info.rct_supported);
  o.Set("changeTracking", info.change_tracking);
  if (!info.change_tracking_note.empty()) o.Set("changeTrackingNote", info.change_tracking_note);
  o.Set("processors", Napi::Number::New(env, static_cast<double>(info.processors)));
  o.Set("memoryMB", Napi::Number::New(env, static_cast<double>(info.memory_mb)));
  o.Set("dynamicMemory", info.dynamic_memory);
  Napi::Array nics = Napi::Array::New(env, info.network_adapters.size());
  for (uint32_t i = 0; i < info.network_adapters.size(); ++i) {
    const NetworkAdapterInfo& n = info.network_adapters[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("name", n.name);
    x.Set("instanceId", n.instance_id);
    x.Set("macAddress", n.mac_address);
    x.Set("staticMac", n.static_mac);
    x.Set("switchPath", n.switch_path);
    x.Set("connected", n.connected);
    nics.Set(i, x);
  }
  o.Set("networkAdapters", nics);
  o.Set("disks", JsDisks(env, info.disks));
  return o;
}

Napi::Object JsReferencePoint(Napi::Env env, const ReferencePoint& rp) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", rp.path);
  o.Set("instanceId", rp.instance_id);
  o.Set("vmId", rp.vm_id);
  o.Set("consistency", ConsistencyName(rp.consistency));
  o.Set("virtualDiskIds", JsStrings(env, rp.virtual_disk_ids));
  o.Set("rctIds", JsStrings(env, rp.rct_ids));
  return o;
}

Napi::Object JsCheckpoint(Napi::Env env, const RecoveryCheckpoint& cp) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("vmId", cp.vm_id);
  o.Set("snapshotPath", cp.snapshot_path);
  o.Set("snapshotId", cp.snapshot_id);
  o.Set("kind", cp.kind);
  o.Set("requestedConsistency", ConsistencyName(cp.requested));
  o.Set("consistency", ConsistencyName(cp.achieved));
  o.Set("fellBack", cp.fell_back);
  if (cp.fell_back) o.Set("fallbackReason", cp.fallback_reason);
  o.Set("frozenDisks", JsDisks(env, cp.frozen_disks));
  return o;
}

// ---- running a host operation ------------------------------------------------------------------

struct Nothing {};

template <typename R>
Napi::Value RunHost(const Napi::CallbackInfo& info, size_t fakes_index, const char* name, JobTimeouts timeouts,
                    std::function<R(HyperVHost&)> work, std::function<Napi::Value(Napi::Env, R&)> to_js) {
  Napi::Env env = info.Env();
  if (info.Length() > fakes_index && info[fakes_index].IsObject()) {
    Napi::Object fakes = info[fakes_index].As<Napi::Object>();
    Napi::Value wmi_fake = fakes.Get("wmi");
    if (!wmi_fake.IsObject()) ThrowUsage(env, "fakes.wmi must be an object");
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      JsWmi wmi(wmi_fake.As<Napi::Object>());
      SteadyClock steady;
      std::unique_ptr<JsClock> fake_clock;
      if (fakes.Get("clock").IsObject()) fake_clock = std::make_unique<JsClock>(fakes.Get("clock").As<Napi::Object>());
      Clock& clock = fake_clock ? static_cast<Clock&>(*fake_clock) : static_cast<Clock&>(steady);
      WarningSink warn;
      if (fakes.Get("onWarning").IsFunction()) {
        Napi::Function on_warning = fakes.Get("onWarning").As<Napi::Function>();
        warn = [on_warning, env](const std::string& message) { on_warning.Call({Napi::String::New(env, message)}); };
      }
      HyperVHost host(wmi, clock, timeouts, warn);
      R result = work(host);
      deferred.Resolve(to_js(env, result));
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    } catch (...) {
      deferred.Reject(ToJsError(env, FromException(std::current_exception())));
    }
    return deferred.Promise();
  }
  return PromiseWorker<R>::Run(
      env, name,
      [work, timeouts]() {
        std::unique_ptr<WmiService> wmi = ConnectHyperVWmi();
        SteadyClock clock;
        HyperVHost host(*wmi, clock, timeouts);
        R result = work(host);
        return result;
      },
      to_js);
}

Napi::Value JsListVms(const Napi::CallbackInfo& info) {
  return RunHost<std::vector<VmSummary>>(
      info, 0, "hvr.hyperv.listVms", JobTimeouts{}, [](HyperVHost& h) { return h.ListVms(); },
      [](Napi::Env env, std::vector<VmSummary>& vms) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, vms.size());
        for (uint32_t i = 0; i < vms.size(); ++i) a.Set(i, JsSummary(env, vms[i]));
        return a;
      });
}

Napi::Value JsDescribeVm(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: describeVm({ vmId }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  return RunHost<VmInfo>(
      info, 1, "hvr.hyperv.describeVm", TimeoutsOf(args), [vm_id](HyperVHost& h) { return h.DescribeVm(vm_id); },
      [](Napi::Env env, VmInfo& v) -> Napi::Value { return JsVmInfo(env, v); });
}

Napi::Value JsCreateRecoveryCheckpoint(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: createRecoveryCheckpoint({ vmId, consistency }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  std::string consistency = Str(args, "consistency");
  if (consistency != "application" && consistency != "crash") ThrowUsage(info.Env(), "consistency: application|crash");
  Consistency level = consistency == "application" ? Consistency::kApplication : Consistency::kCrash;
  return RunHost<RecoveryCheckpoint>(
      info, 1, "hvr.hyperv.createRecoveryCheckpoint", TimeoutsOf(args),
      [vm_id, level](HyperVHost& h) { return h.CreateRecoveryCheckpoint(vm_id, level); },
      [](Napi::Env env, RecoveryCheckpoint& cp) -> Napi::Value { return JsCheckpoint(env, cp); });
}

Napi::Value JsCommitReferencePoint(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: commitReferencePoint({ vmId, snapshotPath, previousReferencePoint? }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  std::string snapshot = Str(args, "snapshotPath");
  std::string previous = Str(args, "previousReferencePoint", false);
  return RunHost<CommitResult>(
      info, 1, "hvr.hyperv.commitReferencePoint", TimeoutsOf(args),
      [=](HyperVHost& h) { return h.CommitReferencePoint(vm_id, snapshot, previous); },
      [](Napi::Env env, CommitResult& r) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("referencePoint", JsReferencePoint(env, r.reference_point));
        o.Set("previousDestroyed", r.previous_destroyed);
        if (!r.warning.empty()) o.Set("warning", r.warning);
        return o;
      });
}

Napi::Value UndefinedResult(Napi::Env env, Nothing&) { return env.Undefined(); }

Napi::Value JsDiscardCheckpoint(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: discardCheckpoint({ snapshotPath }, fakes?)");
  std::string snapshot = Str(args, "snapshotPath");
  return RunHost<Nothing>(
      info, 1, "hvr.hyperv.discardCheckpoint", TimeoutsOf(args),
      [snapshot](HyperVHost& h) {
        h.DiscardCheckpoint(snapshot);
        return Nothing{};
      },
      UndefinedResult);
}

Napi::Value JsListReferencePoints(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: listReferencePoints({ vmId }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  return RunHost<std::vector<ReferencePoint>>(
      info, 1, "hvr.hyperv.listReferencePoints", TimeoutsOf(args),
      [vm_id](HyperVHost& h) { return h.ListReferencePoints(vm_id); },
      [](Napi::Env env, std::vector<ReferencePoint>& rps) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, rps.size());
        for (uint32_t i = 0; i < rps.size(); ++i) a.Set(i, JsReferencePoint(env, rps[i]));
        return a;
      });
}

Napi::Value JsDestroyReferencePoint(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: destroyReferencePoint({ path }, fakes?)");
  std::string path = Str(args, "path");
  return RunHost<Nothing>(
      info, 1, "hvr.hyperv.destroyReferencePoint", TimeoutsOf(args),
      [path](HyperVHost& h) {
        h.DestroyReferencePoint(path);
        return Nothing{};
      },
      UndefinedResult);
}

Napi::Value JsExportConfiguration(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: exportConfiguration({ vmId, snapshotPath?, directory }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  std::string snapshot = Str(args, "snapshotPath", false);
  std::string directory = Str(args, "directory");
  return RunHost<Nothing>(
      info, 1, "hvr.hyperv.exportConfiguration", TimeoutsOf(args),
      [=](HyperVHost& h) {
        h.ExportConfiguration(vm_id, snapshot, directory);
        return Nothing{};
      },
      UndefinedResult);
}

Napi::Value JsRealizeReplicaVm(const Napi::CallbackInfo& info) {
  Napi::Object args =
      ArgsOf(info, "Usage: realizeReplicaVm({ definitionFile, snapshotFolder, disks, generateNewId?, newName?, "
                   "disconnectNetwork? }, fakes?)");
  RealizeOptions options;
  options.definition_file = Str(args, "definitionFile");
  options.snapshot_folder = Str(args, "snapshotFolder", false);
  options.generate_new_id = args.Get("generateNewId").ToBoolean();
  options.new_name = Str(args, "newName", false);
  options.disconnect_network = args.Get("disconnectNetwork").ToBoolean();
  Napi::Value disks = args.Get("disks");
  if (!disks.IsArray()) ThrowUsage(info.Env(), "disks: [{ deviceKey, path }]");
  Napi::Array a = disks.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    if (!a.Get(i).IsObject()) ThrowUsage(info.Env(), "disks: [{ deviceKey, path }]");
    Napi::Object d = a.Get(i).As<Napi::Object>();
    options.disks.push_back({Str(d, "deviceKey"), Str(d, "path")});
  }
  return RunHost<VmSummary>(
      info, 1, "hvr.hyperv.realizeReplicaVm", TimeoutsOf(args),
      [options](HyperVHost& h) { return h.RealizeReplicaVm(options); },
      [](Napi::Env env, VmSummary& s) -> Napi::Value { return JsSummary(env, s); });
}

Napi::Value JsSetVmState(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: setVmState({ vmId, state: 'running'|'off'|'shutdown' }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  std::string state = Str(args, "state");
  VmStateRequest request;
  if (state == "running") {
    request = VmStateRequest::kStart;
  } else if (state == "off") {
    request = VmStateRequest::kTurnOff;
  } else if (state == "shutdown") {
    request = VmStateRequest::kShutdown;
  } else {
    ThrowUsage(info.Env(), "state: running|off|shutdown");
  }
  return RunHost<Nothing>(
      info, 1, "hvr.hyperv.setVmState", TimeoutsOf(args),
      [vm_id, request](HyperVHost& h) {
        h.SetVmState(vm_id, request);
        return Nothing{};
      },
      UndefinedResult);
}

Napi::Value JsDestroyVm(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: destroyVm({ vmId }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  return RunHost<Nothing>(
      info, 1, "hvr.hyperv.destroyVm", TimeoutsOf(args),
      [vm_id](HyperVHost& h) {
        h.DestroyVm(vm_id);
        return Nothing{};
      },
      UndefinedResult);
}

Napi::Value JsSetGuestNetwork(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: setGuestNetwork({ vmId, adapters }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  std::vector<GuestNetworkSettings> adapters;
  Napi::Value list = args.Get("adapters");
  if (!list.IsArray()) ThrowUsage(info.Env(), "adapters: [{ macAddress, dhcp, ipAddresses, subnets, gateways, dnsServers }]");
  Napi::Array a = list.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    if (!a.Get(i).IsObject()) ThrowUsage(info.Env(), "adapters[i] must be an object");
    Napi::Object n = a.Get(i).As<Napi::Object>();
    GuestNetworkSettings s;
    s.mac_address = Str(n, "macAddress");
    s.dhcp = n.Get("dhcp").ToBoolean();
    s.ip_addresses = Strs(n, "ipAddresses");
    s.subnets = Strs(n, "subnets");
    s.gateways = Strs(n, "gateways");
    s.dns_servers = Strs(n, "dnsServers");
    adapters.push_back(std::move(s));
  }
  return RunHost<Nothing>(
      info, 1, "hvr.hyperv.setGuestNetwork", TimeoutsOf(args),
      [vm_id, adapters](HyperVHost& h) {
        h.SetGuestNetwork(vm_id, adapters);
        return Nothing{};
      },
      UndefinedResult);
}

Napi::Value JsSetVmDisks(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: setVmDisks({ vmId, disks: [{ deviceKey, path }] }, fakes?)");
  std::string vm_id = Str(args, "vmId");
  Napi::Value list = args.Get("disks");
  if (!list.IsArray()) ThrowUsage(info.Env(), "disks: [{ deviceKey, path }]");
  std::vector<ReplicaDisk> disks;
  Napi::Array a = list.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    if (!a.Get(i).IsObject()) ThrowUsage(info.Env(), "disks: [{ deviceKey, path }]");
    Napi::Object d = a.Get(i).As<Napi::Object>();
    disks.push_back({Str(d, "deviceKey"), Str(d, "path")});
  }
  return RunHost<Nothing>(
      info, 1, "hvr.hyperv.setVmDisks", TimeoutsOf(args),
      [vm_id, disks](HyperVHost& h) {
        h.SetVmDisks(vm_id, disks);
        return Nothing{};
      },
      UndefinedResult);
}

Napi::Value JsCreateDifferencingDisk(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgsOf(info, "Usage: createDifferencingDisk({ path, parentPath }, fakes?)");
  std::string path = Str(args, "path");
  std::string parent = Str(args, "parentPath");
  return RunHost<Nothing>(
      info, 1, "hvr.hyperv.createDifferencingDisk", TimeoutsOf(args),
      [path, parent](HyperVHost& h) {
        h.CreateDifferencingDisk(path, parent);
        return Nothing{};
      },
      UndefinedResult);
}

Napi::Value JsMatchRctIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsArray()) {
    ThrowUsage(env, "Usage: matchRctIds({ instanceId, virtualDiskIds, rctIds }, [{ instanceId, currentRctId? }])");
  }
  Napi::Object rp = info[0].As<Napi::Object>();
  ReferencePoint previous;
  previous.instance_id = Str(rp, "instanceId", false);
  previous.virtual_disk_ids = Strs(rp, "virtualDiskIds");
  previous.rct_ids = Strs(rp, "rctIds");
  std::vector<DiskForMatch> disks;
  Napi::Array a = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    if (!a.Get(i).IsObject()) ThrowUsage(env, "disks[i] must be an object");
    Napi::Object d = a.Get(i).As<Napi::Object>();
    disks.push_back({Str(d, "instanceId"), Str(d, "currentRctId", false)});
  }
  return CallSync(env, [&]() -> Napi::Value {
    std::vector<RctMatch> matches = MatchRctIds(previous, disks);
    Napi::Array out = Napi::Array::New(env, matches.size());
    for (uint32_t i = 0; i < matches.size(); ++i) {
      Napi::Object m = Napi::Object::New(env);
      m.Set("rctId", matches[i].rct_id.empty() ? env.Null() : Napi::String::New(env, matches[i].rct_id));
      m.Set("rule", matches[i].rule);
      if (!matches[i].reason.empty()) m.Set("reason", matches[i].reason);
      out.Set(i, m);
    }
    return out;
  });
}

// ---- raw virtual disks -------------------------------------------------------------------------

struct DiskEntry {
  std::shared_ptr<RawVirtualDisk> disk;
  bool fake = false;  // fake-backed disks run on the JS thread only
};

std::mutex g_disks_mutex;
std::map<uint32_t, DiskEntry> g_disks;
uint32_t g_next_disk = 1;

DiskEntry FindDisk(Napi::Env env, const Napi::Value& id) {
  if (!id.IsNumber()) ThrowUsage(env, "disk id must be a number");
  std::lock_guard<std::mutex> lock(g_disks_mutex);
  auto it = g_disks.find(id.As<Napi::Number>().Uint32Value());
  if (it == g_disks.end()) {
    throw Napi::Error(env, ToJsError(env, NativeError(codes::kInvalidArgument, "the virtual disk was already closed")));
  }
  return it->second;
}

Napi::Object JsDiskInfo(Napi::Env env, uint32_t id, const RawVirtualDisk& disk) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", id);
  o.Set("path", disk.path());
  o.Set("virtualSize", Napi::Number::New(env, static_cast<double>(disk.geometry().virtual_size)));
  o.Set("blockSize", disk.geometry().block_size);
  o.Set("sectorSize", disk.geometry().sector_size);
  o.Set("physicalSectorSize", disk.geometry().physical_sector_size);
  return o;
}

uint32_t Remember(std::shared_ptr<RawVirtualDisk> disk, bool fake) {
  std::lock_guard<std::mutex> lock(g_disks_mutex);
  uint32_t id = g_next_disk++;
  g_disks[id] = DiskEntry{std::move(disk), fake};
  return id;
}

Napi::Value JsOpenDisk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object args = ArgsOf(info, "Usage: openDisk({ path, readOnly }, fakes?)");
  std::string path = Str(args, "path");
  RawVirtualDisk::Mode mode =
      args.Get("readOnly").ToBoolean() ? RawVirtualDisk::Mode::kReadOnly : RawVirtualDisk::Mode::kReadWrite;
  if (info.Length() > 1 && info[1].IsObject() && info[1].As<Napi::Object>().Get("virtdisk").IsObject()) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      auto api = std::make_shared<JsVirtualDisk>(info[1].As<Napi::Object>().Get("virtdisk").As<Napi::Object>());
      std::shared_ptr<RawVirtualDisk> disk = RawVirtualDisk::Open(api, path, mode);
      uint32_t id = Remember(disk, true);
      deferred.Resolve(JsDiskInfo(env, id, *disk));
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    } catch (...) {
      deferred.Reject(ToJsError(env, FromException(std::current_exception())));
    }
    return deferred.Promise();
  }
  using Opened = std::pair<uint32_t, std::shared_ptr<RawVirtualDisk>>;
  return PromiseWorker<Opened>::Run(
      env, "hvr.hyperv.openDisk",
      [path, mode]() {
        std::shared_ptr<RawVirtualDisk> disk = RawVirtualDisk::Open(SystemVirtualDiskApi(), path, mode);
        return Opened{Remember(disk, false), disk};
      },
      [](Napi::Env e, Opened& opened) -> Napi::Value { return JsDiskInfo(e, opened.first, *opened.second); });
}

Napi::Value DiskTransfer(const Napi::CallbackInfo& info, bool write) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[1].IsNumber() || !info[2].IsTypedArray()) {
    ThrowUsage(env, write ? "Usage: writeDisk(id, offset, data)" : "Usage: readDisk(id, offset, buffer)");
  }
  DiskEntry entry;
  try {
    entry = FindDisk(env, info[0]);
  } catch (const Napi::Error& e) {
    // Promise-returning functions report a closed disk through the promise, like every other failure.
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
  uint64_t offset = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  Napi::Uint8Array bytes = info[2].As<Napi::Uint8Array>();
  uint8_t* data = bytes.Data();
  size_t length = bytes.ByteLength();
  std::shared_ptr<RawVirtualDisk> disk = entry.disk;
  auto work = [disk, offset, data, length, write]() {
    if (write) {
      disk->WriteAt(offset, data, length);
    } else {
      disk->ReadAt(offset, data, length);
    }
    return Nothing{};
  };
  if (entry.fake) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    try {
      work();
      deferred.Resolve(env.Undefined());
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    } catch (...) {
      deferred.Reject(ToJsError(env, FromException(std::current_exception())));
    }
    return deferred.Promise();
  }
  return PromiseWorker<Nothing>::Run(env, write ? "hvr.hyperv.writeDisk" : "hvr.hyperv.readDisk", work,
                                     UndefinedResult, {info[2]});
}

Napi::Value JsReadDisk(const Napi::CallbackInfo& info) { return DiskTransfer(info, false); }
Napi::Value JsWriteDisk(const Napi::CallbackInfo& info) { return DiskTransfer(info, true); }

Napi::Value JsCloseDisk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) ThrowUsage(env, "Usage: closeDisk(id)");
  DiskEntry entry;
  {
    std::lock_guard<std::mutex> lock(g_disks_mutex);
    auto it = g_disks.find(info[0].As<Napi::Number>().Uint32Value());
    if (it == g_disks.end()) return env.Undefined();
    entry = it->second;
    g_disks.erase(it);
  }
  // The handle closes when the last pending read or write lets go of it.
  CallSync(env, [&] { entry.disk.reset(); });
  return env.Undefined();
}

Napi::Value JsReportEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsString()) {
    ThrowUsage(env, "Usage: reportEvent(source, level 0|1|2, eventId, message)");
  }
  std::string source = info[0].As<Napi::String>();
  int level = info[1].As<Napi::Number>().Int32Value();
  uint32_t event_id = info[2].As<Napi::Number>().Uint32Value();
  std::string message = info[3].As<Napi::String>();
  CallSync(env, [&] { WriteApplicationEvent(source, level, event_id, message); });
  return env.Undefined();
}

// Connects to the SCM; `onStop` is called (on the JS thread) when the SCM asks the service to stop.
Napi::Value JsServiceStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsFunction()) ThrowUsage(env, "Usage: serviceStart(name, onStop)");
  std::string name = info[0].As<Napi::String>();
  auto tsfn = std::make_shared<Napi::ThreadSafeFunction>(
      Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "hvr.serviceStop", 0, 1));
  // Unreferenced: a connected service must not keep node alive by itself; the role it runs does.
  tsfn->Unref(env);
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  try {
    StartServiceDispatcher(name, [tsfn]() { tsfn->NonBlockingCall(); });
    deferred.Resolve(env.Undefined());
  } catch (...) {
    tsfn->Release();
    deferred.Reject(ToJsError(env, FromException(std::current_exception())));
  }
  return deferred.Promise();
}

Napi::Value JsServiceStopped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) ThrowUsage(env, "Usage: serviceStopped(exitCode)");
  ReportServiceStopped(info[0].As<Napi::Number>().Uint32Value());
  return env.Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object hv = Napi::Object::New(env);
  hv.Set("listVms", Napi::Function::New(env, JsListVms, "listVms"));
  hv.Set("describeVm", Napi::Function::New(env, JsDescribeVm, "describeVm"));
  hv.Set("createRecoveryCheckpoint", Napi::Function::New(env, JsCreateRecoveryCheckpoint, "createRecoveryCheckpoint"));
  hv.Set("commitReferencePoint", Napi::Function::New(env, JsCommitReferencePoint, "commitReferencePoint"));
  hv.Set("discardCheckpoint", Napi::Function::New(env, JsDiscardCheckpoint, "discardCheckpoint"));
  hv.Set("listReferencePoints", Napi::Function::New(env, JsListReferencePoints, "listReferencePoints"));
  hv.Set("destroyReferencePoint", Napi::Function::New(env, JsDestroyReferencePoint, "destroyReferencePoint"));
  hv.Set("exportConfiguration", Napi::Function::New(env, JsExportConfiguration, "exportConfiguration"));
  hv.Set("realizeReplicaVm", Napi::Function::New(env, JsRealizeReplicaVm, "realizeReplicaVm"));
  hv.Set("setVmState", Napi::Function::New(env, JsSetVmState, "setVmState"));
  hv.Set("destroyVm", Napi::Function::New(env, JsDestroyVm, "destroyVm"));
  hv.Set("setGuestNetwork", Napi::Function::New(env, JsSetGuestNetwork, "setGuestNetwork"));
  hv.Set("setVmDisks", Napi::Function::New(env, JsSetVmDisks, "setVmDisks"));
  hv.Set("createDifferencingDisk", Napi::Function::New(env, JsCreateDifferencingDisk, "createDifferencingDisk"));
  hv.Set("matchRctIds", Napi::Function::New(env, JsMatchRctIds, "matchRctIds"));
  hv.Set("openDisk", Napi::Function::New(env, JsOpenDisk, "openDisk"));
  hv.Set("readDisk", Napi::Function::New(env, JsReadDisk, "readDisk"));
  hv.Set("writeDisk", Napi::Function::New(env, JsWriteDisk, "writeDisk"));
  hv.Set("closeDisk", Napi::Function::New(env, JsCloseDisk, "closeDisk"));
  hv.Set("reportEvent", Napi::Function::New(env, JsReportEvent, "reportEvent"));
  hv.Set("serviceStart", Napi::Function::New(env, JsServiceStart, "serviceStart"));
  hv.Set("serviceStopped", Napi::Function::New(env, JsServiceStopped, "serviceStopped"));
  exports.Set("hyperv", hv);
}
BindingRegistrar registrar(Register);

}  // namespace
}  // namespace hvr::binding
