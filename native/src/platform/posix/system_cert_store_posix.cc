#include "core/native_error.h"
#include "core/system_cert_store.h"

namespace hvr {
namespace {

[[noreturn]] void NoSystemStore() {
  ThrowError(codes::kNotSupported,
             "the Windows certificate store exists only on Windows; on this host import the certificate and key "
             "from a PEM or PFX file with 'hvreplica cert import'");
}

}  // namespace

std::vector<SystemCertificate> ListSystemCertificates(SystemStoreLocation, const std::string&) { NoSystemStore(); }

ExportedCertificate ExportSystemCertificate(SystemStoreLocation, const std::string&, const std::vector<uint8_t>&,
                                           const std::string&) {
  NoSystemStore();
}

std::vector<std::vector<uint8_t>> ImportSystemCertificates(SystemStoreLocation, const std::string&,
                                                           const std::vector<uint8_t>&, const std::string&) {
  NoSystemStore();
}

}  // namespace hvr
