// WriteCaching::kUnbufferedWherePossible: File decorated with an UnbufferedFile and a few writer threads.
//
// How the two paths stay coherent: a write through the cache and an unbuffered one never touch the same page at
// the same time. The unbuffered part of a write is whole aligned units (at least a page each); before any
// buffered read or write, or an unbuffered write, the caller waits for the unbuffered writes in flight that
// share a unit with its range (so the last write of a range also lands last). The kernel writes back and drops
// the cached pages of a range it writes unbuffered, so reads through the cache then see the new bytes.
//
// Durability is unchanged: Flush waits for every write in flight, then flushes the buffered handle (the same
// file and device cache). A failed background write fails every later write and flush of the file.
#include "core/unbuffered_writes.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "core/align.h"
#include "core/byte_runs.h"

namespace hvr {
namespace {

// One bounce buffer's worth: a record of the log is 1 MiB.
constexpr size_t kPieceBytes = size_t(1) << 20;
// Writes the disk works on at once: enough to keep a disk's queue busy while the caller fills the next buffer.
constexpr size_t kWriters = 4;
// Bounce buffers: the writers' plus two being filled or waiting. Bounds the memory to 6 MiB per file.
constexpr size_t kPieces = kWriters + 2;
// Smaller aligned middles go through the cache: not worth a thread hop (metadata, log entries, bitmaps).
constexpr uint64_t kMinUnbufferedBytes = 64 * 1024;


struct AlignedDelete {
  size_t alignment;
  void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t(alignment)); }
};
using AlignedBuffer = std::unique_ptr<uint8_t[], AlignedDelete>;

class UnbufferedWrites final : public File {
 public:
  UnbufferedWrites(std::unique_ptr<File> buffered, std::unique_ptr<UnbufferedFile> unbuffered, std::chrono::milliseconds held)
      : buffered_(std::move(buffered)), unbuffered_(std::move(unbuffered)), unit_(unbuffered_->alignment()), held_(held) {}

  ~UnbufferedWrites() override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      idle_.wait(lock, [&] { return !AnyBusy(); });
      stopping_ = true;
    }
    work_.notify_all();
    for (std::thread& writer : writers_) writer.join();
  }

  bool unbuffered() const { return unbuffered_usable_.load(); }

  void ReadAt(uint64_t offset, void* buffer, size_t length) override {
    WaitForOverlap(offset, length);
    buffered_->ReadAt(offset, buffer, length);
  }

  void WriteAt(uint64_t offset, const void* buffer, size_t length) override {
    const ByteRun run{static_cast<const uint8_t*>(buffer), length};
    WriteGatherAt(offset, &run, 1);
  }

  void WriteGatherAt(uint64_t offset, const ByteRun* runs, size_t count) override {
    ThrowIfFailed();
    uint64_t length = 0;
    for (size_t i = 0; i < count; ++i) length += runs[i].size;
    const uint64_t first = AlignUp(offset, unit_);
    const uint64_t last = AlignDown(offset + length, unit_);
    if (!unbuffered() || last < first + kMinUnbufferedBytes) {
      WriteBuffered(offset, length, runs, count);
      return;
    }
    GatheredBytes bytes(runs, count);
    std::vector<ByteRun> part;
    if (first > offset) {
      bytes.Take(first - offset, &part);
      WriteBuffered(offset, first - offset, part.data(), part.size());
    }
    for (uint64_t at = first; at < last;) {
      const size_t n = size_t(std::min<uint64_t>(last - at, kPieceBytes));
      bytes.Take(n, &part);
      Queue(at, n, part);
      at += n;
    }
    if (offset + length > last) {
      bytes.Take(offset + length - last, &part);
      WriteBuffered(last, offset + length - last, part.data(), part.size());
    }
  }

  void CopyFrom(File& source, uint64_t source_offset, uint64_t offset, uint64_t length) override {
    ThrowIfFailed();
    WaitForOverlap(offset, length);
    buffered_->CopyFrom(source, source_offset, offset, length);
  }

  void Flush() override {
    Drain();
    buffered_->Flush();
  }

  uint64_t Size() override {
    Drain();
    return buffered_->Size();
  }

  void Resize(uint64_t size) override {
    // Growing (a new block of the disk) leaves the writes in flight alone; shrinking waits for those it cuts.
    WaitForOverlap(size, UINT64_MAX - size);
    buffered_->Resize(size);
  }

  void Deallocate(uint64_t offset, uint64_t length) override {
    WaitForOverlap(offset, length);
    buffered_->Deallocate(offset, length);
  }

  const std::string& path() const override { return buffered_->path(); }

 private:
  struct Piece {
    AlignedBuffer buffer;
    uint64_t offset = 0;
    size_t length = 0;
    bool busy = false;  // queued or being written
  };

  void WriteBuffered(uint64_t offset, uint64_t length, const ByteRun* runs, size_t count) {
    WaitForOverlap(offset, length);
    buffered_->WriteGatherAt(offset, runs, count);
  }

  bool OverlapsBusy(uint64_t offset, uint64_t length) const {
    const uint64_t from = AlignDown(offset, unit_);
    const uint64_t to = length > UINT64_MAX - offset - unit_ ? UINT64_MAX : AlignUp(offset + length, unit_);
    for (const Piece& p : pieces_) {
      if (p.busy && p.offset < to && from < p.offset + p.length) return true;
    }
    return false;
  }

  void WaitForOverlap(uint64_t offset, uint64_t length) {
    if (length == 0) return;
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [&] { return !OverlapsBusy(offset, length); });
  }

  void Drain() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [&] { return !AnyBusy(); });
    if (failure_) std::rethrow_exception(failure_);
  }

  void ThrowIfFailed() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_) std::rethrow_exception(failure_);
  }

  // Copies `part` (n bytes) into a free bounce buffer and hands it to the writers; waits while all are busy,
  // and for a write in flight to the same range.
  void Queue(uint64_t offset, size_t n, const std::vector<ByteRun>& part) {
    std::unique_lock<std::mutex> lock(mutex_);
    Piece* free_piece = nullptr;
    idle_.wait(lock, [&] {
      if (failure_) return true;
      if (OverlapsBusy(offset, n)) return false;
      free_piece = FreePiece();
      return free_piece != nullptr;
    });
    if (failure_) std::rethrow_exception(failure_);
    if (!free_piece->buffer) {
      free_piece->buffer = AlignedBuffer(new (std::align_val_t(unit_)) uint8_t[kPieceBytes], AlignedDelete{unit_});
    }
    if (writers_.empty()) {
      for (size_t i = 0; i < kWriters; ++i) writers_.emplace_back([this] { WriterLoop(); });
    }
    // Marked busy before the copy, so nobody else takes the buffer or touches its range meanwhile.
    free_piece->busy = true;
    free_piece->offset = offset;
    free_piece->length = n;
    lock.unlock();
    uint8_t* out = free_piece->buffer.get();
    for (const ByteRun& run : part) {
      std::memcpy(out, run.data, run.size);
      out += run.size;
    }
    lock.lock();
    queue_.push_back(free_piece);
    lock.unlock();
    work_.notify_one();
  }

  bool AnyBusy() const {
    return std::any_of(std::begin(pieces_), std::end(pieces_), [](const Piece& p) { return p.busy; });
  }

  Piece* FreePiece() {
    for (Piece& p : pieces_) {
      if (!p.busy) return &p;
    }
    return nullptr;
  }

  void WriterLoop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Piece* piece = queue_.front();
      queue_.erase(queue_.begin());
      lock.unlock();
      std::exception_ptr error;
      try {
        Write(*piece);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (error && !failure_) failure_ = error;
      piece->busy = false;
      idle_.notify_all();
    }
  }

  void Write(const Piece& piece) {
    if (held_.count() > 0) std::this_thread::sleep_for(held_);
    if (unbuffered() && unbuffered_->WriteAt(piece.offset, piece.buffer.get(), piece.length)) return;
    // Refused (EINVAL): this file goes through the cache from now on, starting with this piece.
    unbuffered_usable_ = false;
    buffered_->WriteAt(piece.offset, piece.buffer.get(), piece.length);
  }

  std::unique_ptr<File> buffered_;
  std::unique_ptr<UnbufferedFile> unbuffered_;
  const size_t unit_;
  // Tests only: each write is held in flight this long first, so that an access that fails to wait for it is
  // caught every time rather than when the scheduler happens to allow (HeldWritesForTests).
  const std::chrono::milliseconds held_;
  std::atomic<bool> unbuffered_usable_{true};

  std::mutex mutex_;
  std::condition_variable work_;  // a piece was queued, or stopping
  std::condition_variable idle_;  // a piece was written
  Piece pieces_[kPieces];
  std::vector<Piece*> queue_;  // in the order queued
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::vector<std::thread> writers_;
};

// HVR_TEST_HOLD_UNBUFFERED_WRITES_MS: how long each unbuffered write waits before it starts (tests of the
// ordering rules above; unset, or anything but a number from 1 to 1000, in production).
std::chrono::milliseconds HeldWritesForTests() {
  const char* value = std::getenv("HVR_TEST_HOLD_UNBUFFERED_WRITES_MS");
  if (value == nullptr) return std::chrono::milliseconds(0);
  char* end = nullptr;
  const long ms = std::strtol(value, &end, 10);
  return *end == '\0' && ms >= 1 && ms <= 1000 ? std::chrono::milliseconds(ms) : std::chrono::milliseconds(0);
}

}  // namespace

std::unique_ptr<File> OpenForWriting(const std::string& path, WriteCaching caching) {
  if (caching == WriteCaching::kBuffered) return File::Open(path, OpenMode::kReadWrite);
  std::unique_ptr<File> buffered = File::Open(path, OpenMode::kReadWriteShared);
  std::unique_ptr<UnbufferedFile> unbuffered = UnbufferedFile::Open(path);
  if (!unbuffered || unbuffered->alignment() > kPieceBytes) return buffered;
  return std::make_unique<UnbufferedWrites>(std::move(buffered), std::move(unbuffered), HeldWritesForTests());
}

bool WritesUnbuffered(const File& file) {
  const auto* decorated = dynamic_cast<const UnbufferedWrites*>(&file);
  return decorated != nullptr && decorated->unbuffered();
}

}  // namespace hvr
