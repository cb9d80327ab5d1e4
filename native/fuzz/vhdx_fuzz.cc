// libFuzzer harness for the VHDX parser: the input is a compact image (the structures' first bytes, see
// kPieces) that is expanded to a 5 MiB file at their canonical offsets, so mutations reach headers,
// region tables, the log, metadata and the BAT without carrying megabytes of zeros. Every input must
// open or fail with a NativeError; sanitizers catch the rest.
#include <cstdint>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/native_error.h"
#include "vhdx/disk.h"
#include "vhdx/fuzz_layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    char name[] = "/tmp/hvr-vhdx-fuzz-XXXXXX";
    int fd = mkstemp(name);
    if (fd >= 0) close(fd);
    return std::string(name);
  }();
  std::vector<uint8_t> image = hvr::vhdx::ExpandFuzzImage(data, size);
  {
    std::unique_ptr<hvr::File> f = hvr::File::Open(path, hvr::OpenMode::kReadWrite);
    f->Resize(0);
    f->Resize(image.size());
    for (const hvr::vhdx::FuzzPiece& piece : hvr::vhdx::kFuzzPieces) {
      f->WriteAt(piece.file_offset, image.data() + piece.file_offset, piece.length);
    }
  }
  try {
    std::unique_ptr<hvr::vhdx::Disk> disk = hvr::vhdx::Disk::Open(path, false, false);
    uint64_t size_virtual = disk->top().virtual_size();
    std::vector<uint8_t> buf(64 * 1024);
    disk->Map(true, 0, size_virtual < (1ull << 32) ? size_virtual : (1ull << 32));
    for (uint64_t off : {uint64_t(0), size_virtual / 2, size_virtual - 1}) {
      uint64_t n = std::min<uint64_t>(buf.size(), size_virtual - off);
      try {
        disk->Read(off, buf.data(), n);
      } catch (const hvr::NativeError&) {
      }
    }
  } catch (const hvr::NativeError&) {
  }
  return 0;
}
