// crypt32 is resolved at run time like every other optional Windows API, so the addon's import table
// stays minimal and a host without it reports ERR_NOT_SUPPORTED.
#include <windows.h>
#include <wincrypt.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/native_error.h"
#include "core/system_cert_store.h"
#include "platform/win/dynamic_api.h"
#include "platform/win/utf16.h"

#ifndef PKCS12_PBES2_EXPORT_AES256_SHA256
#define PKCS12_PBES2_EXPORT_AES256_SHA256 0x00000100
#endif

namespace hvr {
namespace {

struct Crypt32 {
  decltype(&::CertOpenStore) open_store;
  decltype(&::CertCloseStore) close_store;
  decltype(&::CertEnumCertificatesInStore) enum_certificates;
  decltype(&::CertFindCertificateInStore) find_certificate;
  decltype(&::CertFreeCertificateContext) free_context;
  decltype(&::CertAddCertificateContextToStore) add_context;
  decltype(&::CertGetCertificateContextProperty) get_property;
  decltype(&::PFXExportCertStoreEx) pfx_export;
  decltype(&::PFXImportCertStore) pfx_import;
  decltype(&::CryptAcquireCertificatePrivateKey) acquire_key;
  decltype(&::CryptGetUserKey) get_user_key;
  decltype(&::CryptExportKey) export_key;
  decltype(&::CryptDestroyKey) destroy_key;
  decltype(&::CryptReleaseContext) release_context;
};

const Crypt32& Api() {
  static const Crypt32 api = [] {
    Crypt32 a{};
    a.open_store = win::Resolve<decltype(a.open_store)>(L"crypt32.dll", "CertOpenStore");
    a.close_store = win::Resolve<decltype(a.close_store)>(L"crypt32.dll", "CertCloseStore");
    a.enum_certificates = win::Resolve<decltype(a.enum_certificates)>(L"crypt32.dll", "CertEnumCertificatesInStore");
    a.find_certificate = win::Resolve<decltype(a.find_certificate)>(L"crypt32.dll", "CertFindCertificateInStore");
    a.free_context = win::Resolve<decltype(a.free_context)>(L"crypt32.dll", "CertFreeCertificateContext");
    a.add_context = win::Resolve<decltype(a.add_context)>(L"crypt32.dll", "CertAddCertificateContextToStore");
    a.get_property = win::Resolve<decltype(a.get_property)>(L"crypt32.dll", "CertGetCertificateContextProperty");
    a.pfx_export = win::Resolve<decltype(a.pfx_export)>(L"crypt32.dll", "PFXExportCertStoreEx");
    a.pfx_import = win::Resolve<decltype(a.pfx_import)>(L"crypt32.dll", "PFXImportCertStore");
    a.acquire_key = win::Resolve<decltype(a.acquire_key)>(L"crypt32.dll", "CryptAcquireCertificatePrivateKey");
    a.get_user_key = win::Resolve<decltype(a.get_user_key)>(L"advapi32.dll", "CryptGetUserKey");
    a.export_key = win::Resolve<decltype(a.export_key)>(L"advapi32.dll", "CryptExportKey");
    a.destroy_key = win::Resolve<decltype(a.destroy_key)>(L"advapi32.dll", "CryptDestroyKey");
    a.release_context = win::Resolve<decltype(a.release_context)>(L"advapi32.dll", "CryptReleaseContext");
    return a;
  }();
  if (!api.open_store || !api.close_store || !api.enum_certificates || !api.find_certificate || !api.free_context ||
      !api.add_context || !api.get_property || !api.pfx_export || !api.pfx_import || !api.acquire_key ||
      !api.get_user_key || !api.export_key || !api.destroy_key || !api.release_context) {
    ThrowError(codes::kNotSupported,
               "this Windows has no usable certificate store API (crypt32.dll); import the certificate from a PEM "
               "or PFX file with 'hvreplica cert import' instead");
  }
  return api;
}

class Store {
 public:
  explicit Store(HCERTSTORE handle) : handle_(handle) {}
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store() {
    if (handle_ != nullptr) Api().close_store(handle_, 0);
  }
  HCERTSTORE get() const { return handle_; }

 private:
  HCERTSTORE handle_;
};

class Context {
 public:
  explicit Context(PCCERT_CONTEXT context) : context_(context) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() {
    if (context_ != nullptr) Api().free_context(context_);
  }
  PCCERT_CONTEXT get() const { return context_; }

 private:
  PCCERT_CONTEXT context_;
};

std::string Describe(SystemStoreLocation location, const std::string& store) {
  return std::string(location == SystemStoreLocation::kLocalMachine ? "LocalMachine\\" : "CurrentUser\\") + store;
}

Store OpenSystemStore(SystemStoreLocation location, const std::string& store, bool writable) {
  DWORD flags = location == SystemStoreLocation::kLocalMachine ? CERT_SYSTEM_STORE_LOCAL_MACHINE
                                                                : CERT_SYSTEM_STORE_CURRENT_USER;
  flags |= writable ? 0 : (CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG);
  std::wstring name = Utf8ToWide(store);
  HCERTSTORE handle = Api().open_store(CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, name.c_str());
  if (handle == nullptr) ThrowWin32(GetLastError(), "CertOpenStore", "certificate store " + Describe(location, store));
  return Store(handle);
}

bool HasPrivateKey(PCCERT_CONTEXT context) {
  DWORD size = 0;
  return Api().get_property(context, CERT_KEY_PROV_INFO_PROP_ID, nullptr, &size) != FALSE;
}

std::vector<uint8_t> Der(PCCERT_CONTEXT context) {
  return std::vector<uint8_t>(context->pbCertEncoded, context->pbCertEncoded + context->cbCertEncoded);
}

std::string Hex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

bool KeyNotExportable(DWORD err) {
  return err == static_cast<DWORD>(NTE_BAD_KEY_STATE) || err == static_cast<DWORD>(NTE_PERM) ||
         err == static_cast<DWORD>(NTE_NOT_SUPPORTED) || err == static_cast<DWORD>(NTE_BAD_KEY);
}

[[noreturn]] void ThrowNotExportable(DWORD err, const std::string& syscall, const std::string& subject) {
  throw NativeError(codes::kAccessDenied,
                    "the private key of " + subject +
                        " cannot be exported, and hvreplica's TLS needs it: import the certificate again with its "
                        "key marked exportable (Import-PfxCertificate -Exportable, or 'hvreplica cert import "
                        "--pfx-path file.pfx'), then use its thumbprint",
                    static_cast<int>(err), syscall);
}

// PKCS#12 of the one certificate in `memory`; false (with the error in `err`) where the system cannot write
// it, so that the caller may try another way.
bool ExportPfx(HCERTSTORE memory, const std::wstring& password, const std::string& subject, std::vector<uint8_t>& out,
               DWORD& err) {
  // AES-256 with SHA-256 (Windows 10 1709 / Server 2019 and later) is what OpenSSL 3 reads without its legacy
  // provider; older systems refuse the flag and get the classic 3DES encoding.
  const DWORD base = EXPORT_PRIVATE_KEYS | REPORT_NO_PRIVATE_KEY | REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY;
  for (DWORD flags : {base | PKCS12_PBES2_EXPORT_AES256_SHA256, base}) {
    CRYPT_DATA_BLOB blob{0, nullptr};
    if (!Api().pfx_export(memory, &blob, password.c_str(), nullptr, flags)) {
      err = GetLastError();
      if (flags != base && (err == ERROR_INVALID_PARAMETER || err == static_cast<DWORD>(NTE_BAD_FLAGS))) continue;
      if (KeyNotExportable(err)) ThrowNotExportable(err, "PFXExportCertStoreEx", subject);
      return false;
    }
    out.assign(blob.cbData, 0);
    blob.pbData = out.data();
    if (!Api().pfx_export(memory, &blob, password.c_str(), nullptr, flags)) ThrowWin32(GetLastError(), "PFXExportCertStoreEx", subject);
    out.resize(blob.cbData);
    return true;
  }
  return false;
}

// The key of a certificate held by a CryptoAPI provider, as PRIVATEKEYBLOB; false where the key is not there
// (a CNG key, or no provider), with the reason in `why`: only PKCS#12 can carry those.
bool ExportCapiKey(PCCERT_CONTEXT context, const std::string& subject, std::vector<uint8_t>& out, std::string& why) {
  HCRYPTPROV_OR_NCRYPT_KEY_HANDLE handle = 0;
  DWORD spec = 0;
  BOOL caller_frees = FALSE;
  if (!Api().acquire_key(context, CRYPT_ACQUIRE_SILENT_FLAG, nullptr, &handle, &spec, &caller_frees)) {
    why = "CryptAcquireCertificatePrivateKey failed with " + std::to_string(GetLastError());
    return false;
  }
  struct Release {
    HCRYPTPROV prov;
    BOOL owned;
    ~Release() {
      if (owned) Api().release_context(prov, 0);
    }
  } release{static_cast<HCRYPTPROV>(handle), caller_frees};
  if (spec == CERT_NCRYPT_KEY_SPEC) {
    why = "the key is a CNG key";
    return false;
  }
  // Some providers report both bits (AT_KEYEXCHANGE | AT_SIGNATURE): the container then holds the key under one.
  HCRYPTKEY key = 0;
  bool have_key = false;
  for (DWORD candidate : {static_cast<DWORD>(AT_KEYEXCHANGE), static_cast<DWORD>(AT_SIGNATURE)}) {
    if ((spec & candidate) != 0 && Api().get_user_key(release.prov, candidate, &key)) {
      have_key = true;
      break;
    }
  }
  if (!have_key) {
    why = "CryptGetUserKey found no key of spec " + std::to_string(spec) + " (error " + std::to_string(GetLastError()) + ")";
    return false;
  }
  DWORD size = 0;
  BOOL sized = Api().export_key(key, 0, PRIVATEKEYBLOB, 0, nullptr, &size);
  DWORD err = sized ? 0 : GetLastError();
  if (sized) {
    out.assign(size, 0);
    if (!Api().export_key(key, 0, PRIVATEKEYBLOB, 0, out.data(), &size)) err = GetLastError();
    out.resize(size);
  }
  Api().destroy_key(key);
  if (err != 0) {
    if (KeyNotExportable(err)) ThrowNotExportable(err, "CryptExportKey", subject);
    ThrowWin32(err, "CryptExportKey", subject);
  }
  return true;
}

}  // namespace

std::vector<SystemCertificate> ListSystemCertificates(SystemStoreLocation location, const std::string& store) {
  Store system = OpenSystemStore(location, store, false);
  std::vector<SystemCertificate> out;
  // Enumeration frees the previous context itself; only an early exit would need to.
  for (PCCERT_CONTEXT context = Api().enum_certificates(system.get(), nullptr); context != nullptr;
       context = Api().enum_certificates(system.get(), context)) {
    out.push_back(SystemCertificate{Der(context), HasPrivateKey(context)});
  }
  return out;
}

ExportedCertificate ExportSystemCertificate(SystemStoreLocation location, const std::string& store,
                                           const std::vector<uint8_t>& sha1, const std::string& password) {
  if (sha1.size() != 20) ThrowError(codes::kInvalidArgument, "a certificate thumbprint is 20 bytes (40 hex digits)");
  const std::string subject = "certificate " + Hex(sha1) + " in " + Describe(location, store);
  Store system = OpenSystemStore(location, store, false);
  CRYPT_HASH_BLOB hash{static_cast<DWORD>(sha1.size()), const_cast<BYTE*>(sha1.data())};
  Context found(Api().find_certificate(system.get(), X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, 0, CERT_FIND_SHA1_HASH,
                                       &hash, nullptr));
  if (found.get() == nullptr) {
    DWORD err = GetLastError();
    throw NativeError(codes::kNotFound,
                      "no " + subject + "; 'Get-ChildItem Cert:\\" +
                          (location == SystemStoreLocation::kLocalMachine ? "LocalMachine\\" : "CurrentUser\\") +
                          store + "' lists what is there",
                      static_cast<int>(err), "CertFindCertificateInStore");
  }
  if (!HasPrivateKey(found.get())) {
    ThrowError(codes::kNotFound, subject + " has no private key on this host; import it together with its key");
  }
  Store memory(Api().open_store(CERT_STORE_PROV_MEMORY, 0, 0, 0, nullptr));
  if (memory.get() == nullptr) ThrowWin32(GetLastError(), "CertOpenStore", "a memory store");
  if (!Api().add_context(memory.get(), found.get(), CERT_STORE_ADD_ALWAYS, nullptr)) {
    ThrowWin32(GetLastError(), "CertAddCertificateContextToStore", subject);
  }
  ExportedCertificate exported;
  DWORD pfx_error = 0;
  if (ExportPfx(memory.get(), Utf8ToWide(password), subject, exported.pfx, pfx_error)) return exported;
  std::string why;
  if (ExportCapiKey(found.get(), subject, exported.rsa_private_key_blob, why)) {
    exported.der = Der(found.get());
    return exported;
  }
  if (pfx_error == 0) {
    ThrowError(codes::kNotSupported, "this system cannot export " + subject +
                                         " with its key (PFXExportCertStoreEx is not implemented, and " + why +
                                         "); import the certificate from a PEM or PFX file with 'hvreplica cert import'");
  }
  ThrowWin32(pfx_error, "PFXExportCertStoreEx", subject);
}

std::vector<std::vector<uint8_t>> ImportSystemCertificates(SystemStoreLocation location, const std::string& store,
                                                           const std::vector<uint8_t>& pfx,
                                                           const std::string& password) {
  CRYPT_DATA_BLOB blob{static_cast<DWORD>(pfx.size()), const_cast<BYTE*>(pfx.data())};
  std::wstring wide = Utf8ToWide(password);
  const DWORD keyset = location == SystemStoreLocation::kLocalMachine ? CRYPT_MACHINE_KEYSET : CRYPT_USER_KEYSET;
  Store imported(Api().pfx_import(&blob, wide.c_str(), CRYPT_EXPORTABLE | keyset));
  if (imported.get() == nullptr) {
    DWORD err = GetLastError();
    // Wine sets no error for a wrong password; Windows says ERROR_INVALID_PASSWORD.
    if (err == 0 || err == ERROR_INVALID_PASSWORD || err == static_cast<DWORD>(CRYPT_E_BAD_ENCODE) ||
        err == static_cast<DWORD>(NTE_BAD_DATA)) {
      throw NativeError(codes::kInvalidArgument,
                        "the PFX cannot be opened: its password is wrong or it is not a PKCS#12 file",
                        static_cast<int>(err), "PFXImportCertStore");
    }
    ThrowWin32(err, "PFXImportCertStore", "the PFX");
  }
  Store system = OpenSystemStore(location, store, true);
  std::vector<std::vector<uint8_t>> with_keys;
  for (PCCERT_CONTEXT context = Api().enum_certificates(imported.get(), nullptr); context != nullptr;
       context = Api().enum_certificates(imported.get(), context)) {
    if (!Api().add_context(system.get(), context, CERT_STORE_ADD_REPLACE_EXISTING, nullptr)) {
      DWORD err = GetLastError();
      Api().free_context(context);
      ThrowWin32(err, "CertAddCertificateContextToStore", "certificate store " + Describe(location, store));
    }
    if (HasPrivateKey(context)) with_keys.push_back(Der(context));
  }
  return with_keys;
}

}  // namespace hvr
