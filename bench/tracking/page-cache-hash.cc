// Hashing a page-cached file: read into a small buffer (what vhdxBlake3Blocks does) against hashing
// straight from a memory mapping of it. Linux only; a measurement, not part of the addon. It settled
// whether the VHDX engine should map payload blocks for the resync's whole-disk hash (it should not:
// bench/replication/README.md, "Hashing from a memory mapping").
//
// Build and run (the file must be in the page cache first, as the resync bench makes sure):
//   g++ -O2 -std=c++17 -Inative/src -o /tmp/page-cache-hash bench/tracking/page-cache-hash.cc
//       native/src/hash/blake3.cc native/src/hash/blake3_x86.cc native/src/hash/xxh128.cc
//       native/src/core/native_error.cc -lpthread
//   cat FILE > /dev/null; /tmp/page-cache-hash FILE [threads] [blake3|xxh128]
// Every way hashes the whole file in 64 KiB blocks, 8 MiB windows spread over `threads` threads (as the
// libuv pool takes windows), and prints wall time, user and system CPU and minor faults of that way alone.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "hash/blake3.h"
#include "hash/xxh128.h"

namespace {

constexpr size_t kBlock = 64 * 1024;
constexpr size_t kWindow = 8 << 20;
constexpr size_t kPiece = 256 * 1024;  // vhdxBlake3Blocks' read piece: stays in the CPU's L2 cache
constexpr size_t kHugePage = 2 << 20;
constexpr size_t kSlot = 32;  // bytes per block in a manifest, whatever the hash

// The hash under test (the program's third argument): digests of every kBlock block into 32-byte slots.
void (*HashBlocks)(const uint8_t* input, size_t length, uint8_t* digests) = [](const uint8_t* in, size_t n, uint8_t* out) {
  hvr::hash::Blake3Blocks(in, n, kBlock, out);
};

enum class Way { kRead, kMapWindow, kMapWhole, kMapHuge };
const char* WayName(Way way) {
  switch (way) {
    case Way::kRead: return "pread 256 KiB pieces";
    case Way::kMapWindow: return "mmap per 8 MiB window, MAP_POPULATE";
    case Way::kMapWhole: return "mmap of the whole file, MADV_SEQUENTIAL";
    case Way::kMapHuge: return "mmap of the whole file, 2 MiB aligned, MADV_HUGEPAGE";
  }
  return "?";
}

struct Usage {
  double user, sys;
  long faults;
};
Usage Now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6, double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) / 1e6, ru.ru_minflt};
}

// The whole file mapped once (kMapWhole, kMapHuge); nullptr for the other ways.
const uint8_t* MapWhole(int fd, size_t size, Way way) {
  if (way == Way::kMapWhole) {
    void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return nullptr;
    madvise(p, size, MADV_SEQUENTIAL);
    return static_cast<const uint8_t*>(p);
  }
  if (way != Way::kMapHuge) return nullptr;
  // Huge page mappings need a 2 MiB aligned address: reserve more, then map the file over an aligned part.
  auto* area = static_cast<uint8_t*>(mmap(nullptr, size + kHugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (area == MAP_FAILED) return nullptr;
  auto* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(area) + kHugePage - 1) & ~uintptr_t(kHugePage - 1));
  void* p = mmap(aligned, size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) return nullptr;
  if (madvise(p, size, MADV_HUGEPAGE) != 0) perror("madvise(MADV_HUGEPAGE)");
  return static_cast<const uint8_t*>(p);
}

void HashWindow(int fd, Way way, const uint8_t* whole, size_t at, size_t length, uint8_t* digests) {
  if (way == Way::kRead) {
    static thread_local std::vector<uint8_t> buffer(kPiece);
    for (size_t done = 0; done < length; done += kPiece) {
      const size_t n = std::min(kPiece, length - done);
      if (pread(fd, buffer.data(), n, off_t(at + done)) != ssize_t(n)) { perror("pread"); std::exit(1); }
      HashBlocks(buffer.data(), n, digests + done / kBlock * kSlot);
    }
  } else if (way == Way::kMapWindow) {
    void* p = mmap(nullptr, length, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, off_t(at));
    if (p == MAP_FAILED) { perror("mmap"); std::exit(1); }
    HashBlocks(static_cast<const uint8_t*>(p), length, digests);
    munmap(p, length);
  } else {
    HashBlocks(whole + at, length, digests);
  }
}

std::vector<uint8_t> HashFile(int fd, size_t size, Way way, unsigned threads) {
  std::vector<uint8_t> digests((size + kBlock - 1) / kBlock * kSlot);
  const uint8_t* whole = MapWhole(fd, size, way);
  if ((way == Way::kMapWhole || way == Way::kMapHuge) && whole == nullptr) { perror("mmap"); std::exit(1); }
  const size_t windows = (size + kWindow - 1) / kWindow;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; t++) {
    pool.emplace_back([&, t] {
      for (size_t w = t; w < windows; w += threads) {
        const size_t at = w * kWindow;
        HashWindow(fd, way, whole, at, std::min(kWindow, size - at), digests.data() + at / kBlock * kSlot);
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  if (whole != nullptr) munmap(const_cast<uint8_t*>(whole), size);
  return digests;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) { std::fprintf(stderr, "usage: %s FILE [threads] [blake3|xxh128]\n", argv[0]); return 2; }
  const int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) { perror(argv[1]); return 1; }
  const size_t size = size_t(st.st_size);
  const unsigned threads = argc > 2 ? unsigned(std::max(1, std::atoi(argv[2]))) : 2;
  if (argc > 3 && std::strcmp(argv[3], "xxh128") == 0) {
    HashBlocks = [](const uint8_t* in, size_t n, uint8_t* out) { hvr::hash::Xxh128Blocks(in, n, kBlock, out, kSlot); };
  } else if (argc > 3 && std::strcmp(argv[3], "blake3") != 0) {
    std::fprintf(stderr, "unknown hash '%s': blake3 or xxh128\n", argv[3]);
    return 2;
  }
  std::vector<uint8_t> reference;
  for (Way way : {Way::kRead, Way::kMapWindow, Way::kMapWhole, Way::kMapHuge}) {
    const Usage before = Now();
    const auto start = std::chrono::steady_clock::now();
    std::vector<uint8_t> digests = HashFile(fd, size, way, threads);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Usage after = Now();
    if (way == Way::kRead) reference = digests;
    std::printf("%-52s %7.3f s wall  user %6.3f s  sys %6.3f s  minor faults %7ld  digests %s\n", WayName(way), wall, after.user - before.user,
                after.sys - before.sys, after.faults - before.faults, digests == reference ? "equal" : "DIFFER");
  }
  return 0;
}
