// The slice of WMI that the Hyper-V host adapter needs, as a plain C++ interface. The real
// implementation (platform/win/hyperv/wmi_service_win.cc) talks COM to root\virtualization\v2; tests
// on Linux drive the same workflow code through a fake that follows Microsoft's documented behaviour.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hvr::hyperv {

// A WMI property or method parameter. References (object paths) travel as strings, as they do in
// IWbemServices::ExecMethod; embedded instances travel as their CIM-DTD 2.0 text.
struct WmiValue {
  enum class Kind { kNull, kBool, kInt, kString, kStrings, kInts };
  Kind kind = Kind::kNull;
  bool boolean = false;
  int64_t integer = 0;
  std::string text;
  std::vector<std::string> strings;
  std::vector<int64_t> integers;

  static WmiValue Null() { return {}; }
  static WmiValue Bool(bool v) { WmiValue x; x.kind = Kind::kBool; x.boolean = v; return x; }
  static WmiValue Int(int64_t v) { WmiValue x; x.kind = Kind::kInt; x.integer = v; return x; }
  static WmiValue Str(std::string v) { WmiValue x; x.kind = Kind::kString; x.text = std::move(v); return x; }
  static WmiValue Strs(std::vector<std::string> v) { WmiValue x; x.kind = Kind::kStrings; x.strings = std::move(v); return x; }
  static WmiValue Ints(std::vector<int64_t> v) { WmiValue x; x.kind = Kind::kInts; x.integers = std::move(v); return x; }
  bool IsNull() const { return kind == Kind::kNull; }
};

using WmiParams = std::map<std::string, WmiValue>;

struct WmiObject {
  std::string path;        // __PATH; empty for method out-parameter objects
  std::string class_name;  // __CLASS
  WmiParams properties;

  bool Has(const std::string& name) const;
  // Typed accessors are lenient about how the provider encoded a value (WMI returns uint64 as a
  // string, uint16 as an integer) and return the fallback when the property is absent or null.
  std::string String(const std::string& name, const std::string& fallback = {}) const;
  int64_t Int(const std::string& name, int64_t fallback = 0) const;
  bool Bool(const std::string& name, bool fallback = false) const;
  std::vector<std::string> Strings(const std::string& name) const;
};

class WmiService {
 public:
  virtual ~WmiService() = default;
  // WQL SELECT or ASSOCIATORS OF; an empty result is not an error.
  virtual std::vector<WmiObject> Query(const std::string& wql) = 0;
  // Throws ERR_NOT_FOUND (WBEM_E_NOT_FOUND) when the object no longer exists.
  virtual WmiObject GetObject(const std::string& path) = 0;
  // Calls a method on the object at `path` (an instance or a singleton service) and returns the
  // out-parameters (ReturnValue, Job, Resulting*). A non-zero ReturnValue is not thrown here: the
  // caller decides, because 4096 means "job started".
  virtual WmiObject ExecMethod(const std::string& path, const std::string& method, const WmiParams& in) = 0;
  // The CIM-DTD 2.0 text of an embedded instance for a method parameter: a new instance of the class
  // `class_or_path` names, or a copy of the existing instance at that path, with `properties` set.
  virtual std::string EmbedInstance(const std::string& class_or_path, const WmiParams& properties) = 0;
};

// Time as the job poller sees it, so that tests can run hour-long timeouts in no time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t NowMs() = 0;
  virtual void SleepMs(uint64_t ms) = 0;
};

class SteadyClock final : public Clock {
 public:
  uint64_t NowMs() override;
  void SleepMs(uint64_t ms) override;
};

// Quotes a value for a WQL string literal; refuses characters that could end the literal, so that a
// VM name or id from the command line can never change the query.
std::string WqlLiteral(const std::string& value);

// Refuses anything that is not a GUID in its 36-character form (Hyper-V VM ids).
void RequireGuid(const std::string& value, const char* what);

}  // namespace hvr::hyperv
