#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <vector>

#include "core/file.h"
#include "core/native_error.h"

namespace hvr {
namespace {

// pwrite of all `length` bytes (it may write fewer than asked: goes on from there). 0, or the errno that
// stopped it (EIO when the file system accepted nothing).
int WriteAll(int fd, const void* buffer, size_t length, uint64_t offset) {
  const auto* in = static_cast<const char*>(buffer);
  while (length > 0) {
    ssize_t n = ::pwrite(fd, in, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    in += n;
    offset += static_cast<uint64_t>(n);
    length -= static_cast<size_t>(n);
  }
  return 0;
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  void ReadAt(uint64_t offset, void* buffer, size_t length) override {
    auto* out = static_cast<char*>(buffer);
    while (length > 0) {
      ssize_t n = ::pread(fd_, out, length, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        ThrowErrno(errno, "pread", path_);
      }
      if (n == 0) {
        throw NativeError(codes::kIo, "unexpected end of file reading '" + path_ + "' at offset " +
                                          std::to_string(offset) + ": the file is truncated");
      }
      out += n;
      offset += static_cast<uint64_t>(n);
      length -= static_cast<size_t>(n);
    }
  }

  void WriteAt(uint64_t offset, const void* buffer, size_t length) override {
    if (int err = WriteAll(fd_, buffer, length, offset)) ThrowErrno(err, "pwrite", path_);
  }

  void WriteGatherAt(uint64_t offset, const ByteRun* runs, size_t count) override {
    // pwritev takes at most IOV_MAX vectors and may write fewer bytes than asked: go on from where it stopped.
    std::vector<iovec> vectors;
    vectors.reserve(count < IOV_MAX ? count : IOV_MAX);
    size_t next = 0;
    size_t skip = 0;  // bytes of runs[next] already written
    while (next < count) {
      vectors.clear();
      for (size_t i = next; i < count && vectors.size() < IOV_MAX; ++i) {
        size_t from = i == next ? skip : 0;
        if (runs[i].size > from) vectors.push_back({const_cast<uint8_t*>(runs[i].data) + from, runs[i].size - from});
      }
      if (vectors.empty()) return;
      ssize_t n = ::pwritev(fd_, vectors.data(), static_cast<int>(vectors.size()), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        ThrowErrno(errno, "pwritev", path_);
      }
      if (n == 0) throw NativeError(codes::kIo, "the file system accepted no bytes of a write to '" + path_ + "'");
      offset += static_cast<uint64_t>(n);
      auto left = static_cast<size_t>(n);
      while (left > 0 && next < count) {
        size_t rest = runs[next].size - skip;
        if (left < rest) {
          skip += left;
          left = 0;
        } else {
          left -= rest;
          ++next;
          skip = 0;
        }
      }
      while (next < count && runs[next].size == skip) {
        ++next;
        skip = 0;
      }
    }
  }

  void CopyFrom(File& source, uint64_t source_offset, uint64_t offset, uint64_t length) override {
#ifdef __linux__
    auto* from = dynamic_cast<PosixFile*>(&source);
    while (length > 0 && from != nullptr && kernel_copy_) {
      auto in = static_cast<off_t>(source_offset);
      auto out = static_cast<off_t>(offset);
      ssize_t n = ::copy_file_range(from->fd_, &in, fd_, &out, size_t(std::min<uint64_t>(length, kMaxKernelCopy)), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // The kernel cannot copy between these two (other file systems before Linux 5.19, a file system or a
        // kernel without the call, a special file): the buffer below does it, for this file from now on.
        if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL || errno == EBADF) {
          kernel_copy_ = false;
          break;
        }
        ThrowErrno(errno, "copy_file_range", path_);
      }
      if (n == 0) {
        throw NativeError(codes::kIo, "unexpected end of file reading '" + from->path_ + "' at offset " +
                                          std::to_string(source_offset) + ": the file is truncated");
      }
      source_offset += uint64_t(n);
      offset += uint64_t(n);
      length -= uint64_t(n);
    }
#endif
    if (length > 0) CopyThroughBuffer(source, source_offset, *this, offset, length);
  }

  void Flush() override {
    if (::fdatasync(fd_) != 0) ThrowErrno(errno, "fdatasync", path_);
  }

  uint64_t Size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) ThrowErrno(errno, "fstat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  void Resize(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) ThrowErrno(errno, "ftruncate", path_);
  }

  void Deallocate(uint64_t offset, uint64_t length) override {
#ifdef FALLOC_FL_PUNCH_HOLE
    // Best effort: a file system without hole punching keeps the bytes, which is still correct.
    (void)::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                      static_cast<off_t>(length));
#else
    (void)offset;
    (void)length;
#endif
  }

  const std::string& path() const override { return path_; }

 private:
  // copy_file_range takes a size_t and may stop short at any length; 1 GiB per call keeps it well inside ssize_t.
  static constexpr uint64_t kMaxKernelCopy = uint64_t(1) << 30;

  int fd_;
  std::string path_;
  bool kernel_copy_ = true;
};

}  // namespace

std::unique_ptr<File> File::Open(const std::string& path, OpenMode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case OpenMode::kReadOnly:
      flags |= O_RDONLY;
      break;
    case OpenMode::kReadWrite:
    case OpenMode::kReadWriteShared:  // POSIX locks nothing on open
      flags |= O_RDWR;
      break;
    case OpenMode::kCreateNew:
      flags |= O_RDWR | O_CREAT | O_EXCL;
      break;
  }
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) ThrowErrno(errno, "open", path);
  return std::make_unique<PosixFile>(fd, path);
}

#ifdef __linux__
namespace {

class DirectFile final : public UnbufferedFile {
 public:
  DirectFile(int fd, size_t alignment, std::string path) : fd_(fd), alignment_(alignment), path_(std::move(path)) {}
  ~DirectFile() override { ::close(fd_); }

  size_t alignment() const override { return alignment_; }

  bool WriteAt(uint64_t offset, const void* buffer, size_t length) override {
    int err = WriteAll(fd_, buffer, length, offset);
    if (err == EINVAL) return false;
    if (err != 0) ThrowErrno(err, "pwrite (O_DIRECT)", path_);
    return true;
  }

 private:
  int fd_;
  size_t alignment_;
  std::string path_;
};

// The alignment the file system asks of direct I/O (offsets and addresses), at least a page: a direct write
// then never shares a page of the cache with a buffered write beside it. 0 where it reports none (tmpfs,
// kernels before 6.1).
size_t DirectIoAlignment(const std::string& path) {
#ifdef STATX_DIOALIGN
  struct statx sx {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_DIOALIGN, &sx) != 0) return 0;
  if ((sx.stx_mask & STATX_DIOALIGN) == 0 || sx.stx_dio_offset_align == 0 || sx.stx_dio_mem_align == 0) return 0;
  auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return std::max({page, size_t(sx.stx_dio_offset_align), size_t(sx.stx_dio_mem_align)});
#else
  (void)path;
  return 0;
#endif
}

}  // namespace

std::unique_ptr<UnbufferedFile> UnbufferedFile::Open(const std::string& path) {
  size_t alignment = DirectIoAlignment(path);
  if (alignment == 0) return nullptr;
  int fd = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    if (errno == EINVAL) return nullptr;
    ThrowErrno(errno, "open (O_DIRECT)", path);
  }
  return std::make_unique<DirectFile>(fd, alignment, path);
}
#else
// Other POSIX systems (macOS has F_NOCACHE, not O_DIRECT): buffered writes only.
std::unique_ptr<UnbufferedFile> UnbufferedFile::Open(const std::string&) { return nullptr; }
#endif

bool File::Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool MarkSparse(const std::string& path) {
  // Writing past a hole never fills it here; only a missing file is an error, as on Windows.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) ThrowErrno(errno, "stat", path);
  return true;
}

}  // namespace hvr
