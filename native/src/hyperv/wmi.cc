#include "hyperv/wmi.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/native_error.h"

namespace hvr::hyperv {

bool WmiObject::Has(const std::string& name) const {
  auto it = properties.find(name);
  return it != properties.end() && !it->second.IsNull();
}

std::string WmiObject::String(const std::string& name, const std::string& fallback) const {
  auto it = properties.find(name);
  if (it == properties.end()) return fallback;
  const WmiValue& v = it->second;
  switch (v.kind) {
    case WmiValue::Kind::kString:
      return v.text;
    case WmiValue::Kind::kInt:
      return std::to_string(v.integer);
    case WmiValue::Kind::kBool:
      return v.boolean ? "true" : "false";
    default:
      return fallback;
  }
}

int64_t WmiObject::Int(const std::string& name, int64_t fallback) const {
  auto it = properties.find(name);
  if (it == properties.end()) return fallback;
  const WmiValue& v = it->second;
  if (v.kind == WmiValue::Kind::kInt) return v.integer;
  if (v.kind == WmiValue::Kind::kBool) return v.boolean ? 1 : 0;
  if (v.kind == WmiValue::Kind::kString && !v.text.empty()) {
    char* end = nullptr;
    long long parsed = std::strtoll(v.text.c_str(), &end, 10);
    if (end != nullptr && *end == '\0') return parsed;
  }
  return fallback;
}

bool WmiObject::Bool(const std::string& name, bool fallback) const {
  auto it = properties.find(name);
  if (it == properties.end()) return fallback;
  const WmiValue& v = it->second;
  if (v.kind == WmiValue::Kind::kBool) return v.boolean;
  if (v.kind == WmiValue::Kind::kInt) return v.integer != 0;
  if (v.kind == WmiValue::Kind::kString) return v.text == "true" || v.text == "True" || v.text == "TRUE";
  return fallback;
}

std::vector<std::string> WmiObject::Strings(const std::string& name) const {
  auto it = properties.find(name);
  if (it == properties.end()) return {};
  const WmiValue& v = it->second;
  if (v.kind == WmiValue::Kind::kStrings) return v.strings;
  if (v.kind == WmiValue::Kind::kString) return {v.text};
  return {};
}

uint64_t SteadyClock::NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

void SteadyClock::SleepMs(uint64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string WqlLiteral(const std::string& value) {
  for (char c : value) {
    if (c == '\'' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      throw NativeError(codes::kInvalidArgument,
                        "'" + value + "' contains a quote, a backslash or a control character, which a Hyper-V "
                        "VM name or id used by hvreplica may not contain");
    }
  }
  return "'" + value + "'";
}

void RequireGuid(const std::string& value, const char* what) {
  bool ok = value.size() == 36;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    char c = value[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      ok = c == '-';
    } else {
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
  }
  if (!ok) {
    throw NativeError(codes::kInvalidArgument, std::string(what) + " '" + value +
                                                   "' is not a GUID like 4F0E6F46-3C1B-4D2A-9E43-0C0B5B6E2C11 "
                                                   "(Get-VM NAME | Select-Object Id shows it)");
  }
}

}  // namespace hvr::hyperv
