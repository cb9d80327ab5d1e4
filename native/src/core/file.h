// Positioned file I/O, the only way the core touches files; one implementation per platform.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/byte_runs.h"

namespace hvr {

// kReadWriteShared: read-write, and other handles may write too (UnbufferedFile's second handle on Windows,
// where a plain read-write handle denies that).
enum class OpenMode { kReadOnly, kReadWrite, kReadWriteShared, kCreateNew };

class File {
 public:
  virtual ~File() = default;
  static std::unique_ptr<File> Open(const std::string& path, OpenMode mode);
  static bool Exists(const std::string& path);

  // Reads exactly `length` bytes or throws; reading past the end is an error (the caller checks sizes).
  virtual void ReadAt(uint64_t offset, void* buffer, size_t length) = 0;
  virtual void WriteAt(uint64_t offset, const void* buffer, size_t length) = 0;
  // Writes the runs back to back from `offset`, as WriteAt of their concatenation would, without joining them.
  virtual void WriteGatherAt(uint64_t offset, const ByteRun* runs, size_t count) = 0;
  // Copies `length` bytes of `source` from `source_offset` to `offset` of this file, as ReadAt then WriteAt would.
  // Where the platform can, the bytes never enter this process (Linux copy_file_range: one copy inside the kernel
  // instead of one out of the page cache and one back in); elsewhere, or where the kernel refuses the pair (files
  // on different file systems, a file system without it), through a buffer (CopyThroughBuffer). Reading past the
  // source's end is an error, as for ReadAt. Durable only after Flush(), as for WriteAt.
  virtual void CopyFrom(File& source, uint64_t source_offset, uint64_t offset, uint64_t length) = 0;
  // Makes every completed write durable (fdatasync / FlushFileBuffers).
  virtual void Flush() = 0;
  virtual uint64_t Size() = 0;
  virtual void Resize(uint64_t size) = 0;
  // Releases the storage of a range (punches a hole) where the file system can; a no-op elsewhere.
  virtual void Deallocate(uint64_t offset, uint64_t length) = 0;
  virtual const std::string& path() const = 0;
};

// A second handle on a file that is also open through File, whose writes bypass the page cache (Linux O_DIRECT,
// Windows FILE_FLAG_NO_BUFFERING): one copy fewer per byte in the kernel, and no dirty pages for the final
// flush to wait for. Every offset, length and buffer address must be a multiple of alignment(). The data is
// durable only after File::Flush of the other handle (fdatasync / FlushFileBuffers reach the same file and the
// device's cache), as for buffered writes. unbuffered_writes.h is the one user.
class UnbufferedFile {
 public:
  virtual ~UnbufferedFile() = default;
  // Null where the file system takes no unbuffered writes: Linux opens only where statx reports a direct-I/O
  // alignment (tmpfs, for one, reports none: its "direct" writes would still go through its page cache), and
  // where the open with O_DIRECT succeeds.
  static std::unique_ptr<UnbufferedFile> Open(const std::string& path);
  virtual size_t alignment() const = 0;
  // Writes all of it or throws. False when the file system refused this write unbuffered (EINVAL): part of it
  // may have been written, and the caller writes all of it again through the page cache.
  virtual bool WriteAt(uint64_t offset, const void* buffer, size_t length) = 0;
};

// CopyFrom through a bounded buffer in this process: what every platform falls back to.
void CopyThroughBuffer(File& source, uint64_t source_offset, File& target, uint64_t offset, uint64_t length);

// Marks an existing file sparse where the file system would otherwise allocate (and zero-fill) every byte
// below its end (NTFS, ReFS), so that ranges never written take neither space nor writes. Works while
// other handles have the file open. False where the file system has no sparse files (FAT); true without
// doing anything where every file is sparse already (POSIX file systems).
bool MarkSparse(const std::string& path);

}  // namespace hvr
