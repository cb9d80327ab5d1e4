// The Windows system certificate store (LocalMachine\My is where Hyper-V Replica expects a host's
// certificate). Node's TLS cannot use a key held by CryptoAPI/CNG, so a certificate is handed over as a
// PKCS#12 blob under a one-time password; a key marked non-exportable therefore cannot be used, and the
// error says how to re-import it. Elsewhere every function throws ERR_NOT_SUPPORTED.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hvr {

enum class SystemStoreLocation { kLocalMachine, kCurrentUser };

struct SystemCertificate {
  std::vector<uint8_t> der;
  bool has_private_key = false;
};

// Every certificate of the store (e.g. "My", "Root").
std::vector<SystemCertificate> ListSystemCertificates(SystemStoreLocation location, const std::string& store);

// A certificate with its private key, in one of two forms: PKCS#12 (`pfx`, under the caller's password), or,
// where the system cannot write PKCS#12 but the key is a CryptoAPI RSA key, the certificate (`der`) and the
// key as CryptoAPI's PRIVATEKEYBLOB (`rsa_private_key_blob`), which the caller turns into PKCS#8.
struct ExportedCertificate {
  std::vector<uint8_t> pfx;
  std::vector<uint8_t> der;
  std::vector<uint8_t> rsa_private_key_blob;
};

// The certificate whose SHA-1 thumbprint is `sha1` (20 bytes), with its private key.
ExportedCertificate ExportSystemCertificate(SystemStoreLocation location, const std::string& store,
                                           const std::vector<uint8_t>& sha1, const std::string& password);

// Adds the certificates of a PKCS#12 blob (keys exportable, so that hvreplica can use them) to the
// store; returns the DER of each certificate that came with a private key.
std::vector<std::vector<uint8_t>> ImportSystemCertificates(SystemStoreLocation location, const std::string& store,
                                                           const std::vector<uint8_t>& pfx,
                                                           const std::string& password);

}  // namespace hvr
