// WmiService over COM: IWbemLocator → root\virtualization\v2, ExecQuery, GetObject, ExecMethod and
// IWbemObjectTextSrc for embedded instances (CIM-DTD 2.0, what Hyper-V's methods accept).
#include <windows.h>
#include <oleauto.h>
#include <wbemidl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/native_error.h"
#include "hyperv/factory.h"
#include "hyperv/wmi_errors.h"
#include "platform/win/utf16.h"

namespace hvr::hyperv {
namespace {

[[noreturn]] void ThrowCom(HRESULT hr, const std::string& call, const std::string& subject) {
  uint32_t code = static_cast<uint32_t>(hr);
  if (IsWbemError(code)) throw WbemError(code, call, subject);
  if (code == 0x800706BAu || code == 0x80070005u) throw WbemError(code, call, subject);
  ThrowHresult(hr, call, subject);
}

template <typename T>
class Com {
 public:
  Com() = default;
  ~Com() { Reset(); }
  Com(const Com&) = delete;
  Com& operator=(const Com&) = delete;
  T** Out() {
    Reset();
    return &p_;
  }
  T* operator->() const { return p_; }
  T* get() const { return p_; }
  void Reset() {
    if (p_ != nullptr) p_->Release();
    p_ = nullptr;
  }

 private:
  T* p_ = nullptr;
};

class Bstr {
 public:
  explicit Bstr(const std::string& s) : b_(SysAllocString(Utf8ToWide(s).c_str())) {
    if (b_ == nullptr) throw NativeError(codes::kOsError, "out of memory allocating a BSTR");
  }
  ~Bstr() { SysFreeString(b_); }
  Bstr(const Bstr&) = delete;
  Bstr& operator=(const Bstr&) = delete;
  BSTR get() const { return b_; }

 private:
  BSTR b_;
};

class Variant {
 public:
  Variant() { VariantInit(&v_); }
  ~Variant() { VariantClear(&v_); }
  Variant(const Variant&) = delete;
  Variant& operator=(const Variant&) = delete;
  VARIANT* get() { return &v_; }
  const VARIANT& ref() const { return v_; }

 private:
  VARIANT v_;
};

std::string FromBstr(BSTR b) { return b == nullptr ? std::string() : WideToUtf8(std::wstring(b, SysStringLen(b))); }

WmiValue FromVariant(const VARIANT& v) {
  switch (v.vt) {
    case VT_BOOL: return WmiValue::Bool(v.boolVal != VARIANT_FALSE);
    case VT_I1: return WmiValue::Int(v.cVal);
    case VT_UI1: return WmiValue::Int(v.bVal);
    case VT_I2: return WmiValue::Int(v.iVal);
    case VT_UI2: return WmiValue::Int(v.uiVal);
    case VT_I4: return WmiValue::Int(v.lVal);
    case VT_UI4: return WmiValue::Int(v.ulVal);
    case VT_I8: return WmiValue::Int(v.llVal);
    case VT_UI8: return WmiValue::Int(static_cast<int64_t>(v.ullVal));
    case VT_BSTR: return WmiValue::Str(FromBstr(v.bstrVal));  // also uint64 and datetime values
    default: break;
  }
  if ((v.vt & VT_ARRAY) != 0 && v.parray != nullptr) {
    SAFEARRAY* sa = v.parray;
    LONG lo = 0, hi = -1;
    SafeArrayGetLBound(sa, 1, &lo);
    SafeArrayGetUBound(sa, 1, &hi);
    VARTYPE element = static_cast<VARTYPE>(v.vt & ~VT_ARRAY);
    if (element == VT_BSTR) {
      std::vector<std::string> out;
      for (LONG i = lo; i <= hi; ++i) {
        BSTR b = nullptr;
        if (SUCCEEDED(SafeArrayGetElement(sa, &i, &b))) {
          out.push_back(FromBstr(b));
          SysFreeString(b);
        }
      }
      return WmiValue::Strs(std::move(out));
    }
    std::vector<int64_t> out;
    for (LONG i = lo; i <= hi; ++i) {
      Variant item;
      if (element == VT_I4 || element == VT_UI4) {
        LONG x = 0;
        if (SUCCEEDED(SafeArrayGetElement(sa, &i, &x))) out.push_back(x);
      } else if (element == VT_I2 || element == VT_UI2) {
        SHORT x = 0;
        if (SUCCEEDED(SafeArrayGetElement(sa, &i, &x))) out.push_back(static_cast<uint16_t>(x));
      } else if (element == VT_UI1 || element == VT_I1) {
        BYTE x = 0;
        if (SUCCEEDED(SafeArrayGetElement(sa, &i, &x))) out.push_back(x);
      }
    }
    return WmiValue::Ints(std::move(out));
  }
  return WmiValue::Null();
}

// Fills `out` for IWbemClassObject::Put. Integers go as VT_I4 (WMI converts them to the property's
// CIM type, uint16/uint32 alike); values outside its range go as strings, which is how WMI carries uint64.
void ToVariant(const WmiValue& value, VARIANT* out) {
  switch (value.kind) {
    case WmiValue::Kind::kNull:
      out->vt = VT_NULL;
      return;
    case WmiValue::Kind::kBool:
      out->vt = VT_BOOL;
      out->boolVal = value.boolean ? VARIANT_TRUE : VARIANT_FALSE;
      return;
    case WmiValue::Kind::kInt:
      if (value.integer >= INT32_MIN && value.integer <= INT32_MAX) {
        out->vt = VT_I4;
        out->lVal = static_cast<LONG>(value.integer);
      } else {
        out->vt = VT_BSTR;
        out->bstrVal = SysAllocString(Utf8ToWide(std::to_string(value.integer)).c_str());
      }
      return;
    case WmiValue::Kind::kString:
      out->vt = VT_BSTR;
      out->bstrVal = SysAllocString(Utf8ToWide(value.text).c_str());
      return;
    case WmiValue::Kind::kStrings: {
      SAFEARRAY* sa = SafeArrayCreateVector(VT_BSTR, 0, static_cast<ULONG>(value.strings.size()));
      if (sa == nullptr) throw NativeError(codes::kOsError, "out of memory building a WMI string array");
      for (LONG i = 0; i < static_cast<LONG>(value.strings.size()); ++i) {
        BSTR b = SysAllocString(Utf8ToWide(value.strings[static_cast<size_t>(i)]).c_str());
        SafeArrayPutElement(sa, &i, b);  // copies the BSTR
        SysFreeString(b);
      }
      out->vt = VT_ARRAY | VT_BSTR;
      out->parray = sa;
      return;
    }
    case WmiValue::Kind::kInts: {
      SAFEARRAY* sa = SafeArrayCreateVector(VT_I4, 0, static_cast<ULONG>(value.integers.size()));
      if (sa == nullptr) throw NativeError(codes::kOsError, "out of memory building a WMI integer array");
      for (LONG i = 0; i < static_cast<LONG>(value.integers.size()); ++i) {
        LONG x = static_cast<LONG>(value.integers[static_cast<size_t>(i)]);
        SafeArrayPutElement(sa, &i, &x);
      }
      out->vt = VT_ARRAY | VT_I4;
      out->parray = sa;
      return;
    }
  }
}

// The class part of an object path: "\\HOST\root\virtualization\v2:Msvm_X.Key=..." → "Msvm_X".
// "\\HOST\root\virtualization\v2:Msvm_X.Key=..." → "Msvm_X". A full path's namespace ends at its first colon
// (host names may contain dots, key values colons); a relative path starts with the class.
std::string ClassOfPath(const std::string& path) {
  size_t start = 0;
  size_t colon = path.find(':');
  size_t keys = path.find_first_of(".=@");
  if (colon != std::string::npos && (path.compare(0, 2, "\\\\") == 0 || colon < keys)) start = colon + 1;
  size_t end = path.find_first_of(".=@", start);
  return path.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool LooksLikePath(const std::string& s) { return s.find_first_of(":.=") != std::string::npos; }

class ComApartment {
 public:
  ComApartment() {
    HRESULT hr = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
    // RPC_E_CHANGED_MODE: the thread already has an apartment (someone else's); use it, don't end it.
    if (hr == RPC_E_CHANGED_MODE) return;
    if (FAILED(hr)) ThrowHresult(hr, "CoInitializeEx", "");
    owned_ = true;
  }
  ~ComApartment() {
    if (owned_) CoUninitialize();
  }
  ComApartment(const ComApartment&) = delete;
  ComApartment& operator=(const ComApartment&) = delete;

 private:
  bool owned_ = false;
};

class WinWmiService final : public WmiService {
 public:
  WinWmiService() {
    Com<IWbemLocator> locator;
    HRESULT hr = CoCreateInstance(CLSID_WbemLocator, nullptr, CLSCTX_INPROC_SERVER, IID_IWbemLocator,
                                  reinterpret_cast<void**>(locator.Out()));
    if (FAILED(hr)) ThrowCom(hr, "CoCreateInstance(WbemLocator)", "");
    Bstr ns("ROOT\\virtualization\\v2");
    hr = locator->ConnectServer(ns.get(), nullptr, nullptr, nullptr, 0, nullptr, nullptr, services_.Out());
    if (FAILED(hr)) ThrowCom(hr, "IWbemLocator::ConnectServer", "ROOT\\virtualization\\v2");
    // Per-proxy security instead of CoInitializeSecurity: the latter is process-wide and once only,
    // and the Node process is not ours to configure.
    hr = CoSetProxyBlanket(services_.get(), RPC_C_AUTHN_WINNT, RPC_C_AUTHZ_NONE, nullptr, RPC_C_AUTHN_LEVEL_CALL,
                           RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_NONE);
    if (FAILED(hr)) ThrowCom(hr, "CoSetProxyBlanket", "ROOT\\virtualization\\v2");
  }

  std::vector<WmiObject> Query(const std::string& wql) override {
    Bstr language("WQL");
    Bstr query(wql);
    Com<IEnumWbemClassObject> rows;
    HRESULT hr = services_->ExecQuery(language.get(), query.get(), WBEM_FLAG_FORWARD_ONLY | WBEM_FLAG_RETURN_IMMEDIATELY,
                                      nullptr, rows.Out());
    if (FAILED(hr)) ThrowCom(hr, "IWbemServices::ExecQuery", wql);
    std::vector<WmiObject> out;
    for (;;) {
      Com<IWbemClassObject> row;
      ULONG got = 0;
      hr = rows->Next(static_cast<LONG>(WBEM_INFINITE), 1, row.Out(), &got);
      if (FAILED(hr)) ThrowCom(hr, "IEnumWbemClassObject::Next", wql);
      if (got == 0) break;
      out.push_back(Convert(row.get()));
    }
    return out;
  }

  WmiObject GetObject(const std::string& path) override {
    Com<IWbemClassObject> obj;
    Fetch(path, obj);
    return Convert(obj.get());
  }

  WmiObject ExecMethod(const std::string& path, const std::string& method, const WmiParams& in) override {
    Com<IWbemClassObject> klass;
    Fetch(ClassOfPath(path), klass);
    Bstr name(method);
    Com<IWbemClassObject> signature;
    HRESULT hr = klass->GetMethod(Utf8ToWide(method).c_str(), 0, signature.Out(), nullptr);
    if (FAILED(hr)) ThrowCom(hr, "IWbemClassObject::GetMethod", ClassOfPath(path) + "." + method);
    Com<IWbemClassObject> args;
    if (signature.get() != nullptr) {
      hr = signature->SpawnInstance(0, args.Out());
      if (FAILED(hr)) ThrowCom(hr, "IWbemClassObject::SpawnInstance", method);
      Fill(args.get(), in, method);
    }
    Bstr object(path);
    Com<IWbemClassObject> out;
    hr = services_->ExecMethod(object.get(), name.get(), 0, nullptr, args.get(), out.Out(), nullptr);
    if (FAILED(hr)) ThrowCom(hr, "IWbemServices::ExecMethod(" + method + ")", path);
    return out.get() == nullptr ? WmiObject{} : Convert(out.get());
  }

  std::string EmbedInstance(const std::string& class_or_path, const WmiParams& properties) override {
    Com<IWbemClassObject> instance;
    if (LooksLikePath(class_or_path)) {
      // A local copy of the existing instance; nothing is written back until a method takes it.
      Fetch(class_or_path, instance);
    } else {
      Com<IWbemClassObject> klass;
      Fetch(class_or_path, klass);
      HRESULT hr = klass->SpawnInstance(0, instance.Out());
      if (FAILED(hr)) ThrowCom(hr, "IWbemClassObject::SpawnInstance", class_or_path);
    }
    Fill(instance.get(), properties, class_or_path);
    Com<IWbemObjectTextSrc> text_src;
    HRESULT hr = CoCreateInstance(CLSID_WbemObjectTextSrc, nullptr, CLSCTX_INPROC_SERVER, IID_IWbemObjectTextSrc,
                                  reinterpret_cast<void**>(text_src.Out()));
    if (FAILED(hr)) ThrowCom(hr, "CoCreateInstance(WbemObjectTextSrc)", class_or_path);
    BSTR text = nullptr;
    hr = text_src->GetText(0, instance.get(), WMI_OBJ_TEXT_CIM_DTD_2_0, nullptr, &text);
    if (FAILED(hr)) ThrowCom(hr, "IWbemObjectTextSrc::GetText", class_or_path);
    std::string out = FromBstr(text);
    SysFreeString(text);
    return out;
  }

 private:
  void Fetch(const std::string& path, Com<IWbemClassObject>& out) {
    Bstr p(path);
    HRESULT hr = services_->GetObject(p.get(), 0, nullptr, out.Out(), nullptr);
    if (FAILED(hr)) ThrowCom(hr, "IWbemServices::GetObject", path);
  }

  static void Fill(IWbemClassObject* obj, const WmiParams& values, const std::string& subject) {
    for (const auto& [name, value] : values) {
      Variant v;
      ToVariant(value, v.get());
      HRESULT hr = obj->Put(Utf8ToWide(name).c_str(), 0, v.get(), 0);
      if (FAILED(hr)) ThrowCom(hr, "IWbemClassObject::Put(" + name + ")", subject);
    }
  }

  static WmiObject Convert(IWbemClassObject* obj) {
    WmiObject out;
    {
      Variant v;
      if (SUCCEEDED(obj->Get(L"__PATH", 0, v.get(), nullptr, nullptr)) && v.ref().vt == VT_BSTR) {
        out.path = FromBstr(v.ref().bstrVal);
      }
    }
    {
      Variant v;
      if (SUCCEEDED(obj->Get(L"__CLASS", 0, v.get(), nullptr, nullptr)) && v.ref().vt == VT_BSTR) {
        out.class_name = FromBstr(v.ref().bstrVal);
      }
    }
    if (FAILED(obj->BeginEnumeration(WBEM_FLAG_NONSYSTEM_ONLY))) return out;
    for (;;) {
      BSTR name = nullptr;
      Variant v;
      HRESULT hr = obj->Next(0, &name, v.get(), nullptr, nullptr);
      if (hr != WBEM_S_NO_ERROR) break;
      out.properties[FromBstr(name)] = FromVariant(v.ref());
      SysFreeString(name);
    }
    obj->EndEnumeration();
    return out;
  }

  ComApartment apartment_;  // first member: initialised before and released after the COM objects
  Com<IWbemServices> services_;
};

}  // namespace

std::unique_ptr<WmiService> ConnectHyperVWmi() { return std::make_unique<WinWmiService>(); }

}  // namespace hvr::hyperv
