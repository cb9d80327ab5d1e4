#include "vhdx/check.h"

#include "core/file.h"
#include "vhdx/errors.h"

namespace hvr::vhdx {

CheckFindings CheckFile(const std::string& path) {
  CheckFindings findings;
  if (!File::Exists(path)) throw NativeError(hvr::codes::kNotFound, "'" + path + "' does not exist");
  try {
    std::unique_ptr<Layer> layer = Layer::Open(path, false, &findings);
    if (layer->log_replayed()) {
      findings.warnings.push_back("the log is active (the file was not closed cleanly); it replays when opened");
    }
  } catch (const NativeError& e) {
    if (e.code() != codes::kCorrupt && e.code() != codes::kUnsupported && e.code() != hvr::codes::kIo) throw;
    findings.errors.push_back(std::string(e.code()) + ": " + e.what());
  }
  return findings;
}

}  // namespace hvr::vhdx
