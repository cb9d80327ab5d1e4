// A virtual disk: a VHDX layer and, for differencing disks, every ancestor resolved through the parent
// locators. Reads go through the chain; writes go into the top layer. Calls are serialised by mutex()
// (the binding runs them on worker threads).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vhdx/layer.h"

namespace hvr::vhdx {

enum class ExtentState : uint8_t { kAbsent = 0, kZero = 1, kData = 2 };

struct Extent {
  uint64_t offset;
  uint64_t length;
  ExtentState state;
};

class Disk {
 public:
  // `with_parents` false opens only this file (inspection of a layer whose parents are elsewhere); reads
  // that need a parent then fail with ERR_VHDX_PARENT_NOT_FOUND.
  // `caching`: of the writable top layer's writes (unbuffered_writes.h); parents are only read.
  static std::unique_ptr<Disk> Open(const std::string& path, bool writable, bool with_parents = true,
                                    WriteCaching caching = WriteCaching::kBuffered);
  ~Disk();

  Layer& top() { return *layers_.front(); }
  size_t depth() const { return layers_.size(); }
  Layer& layer(size_t i) { return *layers_[i]; }
  std::mutex& mutex() { return mutex_; }
  bool closed() const { return layers_.empty(); }

  // Throws ERR_INVALID_ARGUMENT unless [offset, offset + length) lies within the virtual disk (every call that
  // takes a range checks it; a caller of several checks them all before the first changes anything).
  void CheckRange(const char* what, uint64_t offset, uint64_t length) const;
  void Read(uint64_t offset, void* buffer, uint64_t length);
  // Reads what the chain shows from layer `level` down (level 0 is Read); for comparing a child's
  // parent chain with another without opening it twice.
  void ReadFromLevel(size_t level, uint64_t offset, void* buffer, uint64_t length);
  void Write(uint64_t offset, const void* buffer, uint64_t length);
  // Writes the runs back to back (`length` bytes in all) as Write of their concatenation would; sector-aligned
  // ones are gathered straight into the file, never joined in memory.
  void Write(uint64_t offset, const ByteRun* runs, size_t count, uint64_t length);
  // Writes `length` bytes of `source` from `source_offset` at `offset`, as Write of those bytes read into memory
  // would, with the same crash safety (the block table and bitmaps reach the file only in a commit, after the
  // payload is flushed). Sector-aligned ranges are copied file to file (File::CopyFrom: in the kernel where it
  // can); partial sectors are read into memory and merged with what the chain shows, as Write does.
  void WriteFromFile(uint64_t offset, File& source, uint64_t source_offset, uint64_t length);
  // Makes the range read as zeros; `trim` lets whole blocks give their space back.
  void Zero(uint64_t offset, uint64_t length, bool trim);
  void Flush();
  std::vector<Extent> Map(bool layer_only, uint64_t offset, uint64_t length);
  void Close();

 private:
  Disk() = default;
  void ReadLevel(size_t level, uint64_t offset, uint8_t* out, uint64_t length);
  void MapLevel(size_t level, bool layer_only, uint64_t offset, uint64_t length, std::vector<Extent>* out);
  void WriteAligned(uint64_t offset, const ByteRun* runs, size_t count, uint64_t length);

  std::vector<std::unique_ptr<Layer>> layers_;
  std::mutex mutex_;
};

// Opens the parent a differencing layer names (relative path, then volume and absolute paths, then the
// same file name beside the child), checking its DataWriteGuid against parent_linkage / parent_linkage2.
std::unique_ptr<Layer> OpenParent(Layer& child, std::string* resolved_path);

}  // namespace hvr::vhdx
