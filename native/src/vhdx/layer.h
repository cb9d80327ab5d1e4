// One VHDX file: its headers, regions, metadata, BAT and sector bitmaps, an active log replayed at open
// (in memory when read-only), and, when writable, a session whose metadata changes all go through the log.
// Not thread-safe: the Disk that owns the layers serialises calls.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/file.h"
#include "core/unbuffered_writes.h"
#include "vhdx/guid.h"
#include "vhdx/log.h"

namespace hvr::vhdx {

enum class DiskType { kFixed, kDynamic, kDifferencing };
const char* DiskTypeName(DiskType type);

struct ParentLocator {
  Guid type;
  std::vector<std::pair<std::string, std::string>> entries;  // UTF-8, in stored order
  const std::string* Find(const std::string& key) const;
};

struct Header {
  uint64_t sequence = 0;
  Guid file_write_guid;
  Guid data_write_guid;
  Guid log_guid;
  uint16_t log_version = 0;
  uint16_t version = 1;
  uint32_t log_length = 0;
  uint64_t log_offset = 0;
};

struct RegionEntry {
  Guid id;
  uint64_t offset = 0;
  uint32_t length = 0;
  bool required = false;
};

struct MetadataEntry {
  Guid id;
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t flags = 0;
};

// Problems found by the structural check that do not stop a read-only open.
struct CheckFindings {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  uint64_t allocated_blocks = 0;
  uint64_t sector_bitmap_blocks = 0;
};

class Layer {
 public:
  enum class RunKind { kData, kZero, kParent };
  struct Run {
    RunKind kind;
    uint64_t length;
    uint64_t file_offset;  // kData only
  };

  // `findings`, when given, collects BAT problems instead of refusing the file (for `disk check`).
  // `caching` applies to a writable layer's payload writes (unbuffered_writes.h).
  static std::unique_ptr<Layer> Open(const std::string& path, bool writable, CheckFindings* findings = nullptr,
                                     WriteCaching caching = WriteCaching::kBuffered);
  ~Layer();
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& path() const { return path_; }
  DiskType type() const;
  bool writable() const { return writable_; }
  // Whether large payload writes bypass the page cache now (WriteCaching::kUnbufferedWherePossible, where allowed).
  bool writes_unbuffered() const { return WritesUnbuffered(*file_); }
  uint64_t virtual_size() const { return virtual_size_; }
  uint32_t block_size() const { return block_size_; }
  uint32_t logical_sector_size() const { return logical_sector_size_; }
  uint32_t physical_sector_size() const { return physical_sector_size_; }
  const Guid& disk_id() const { return disk_id_; }
  const Header& header() const { return header_; }
  const std::string& creator() const { return creator_; }
  bool log_replayed() const { return log_replayed_; }
  bool has_parent() const { return has_parent_; }
  const ParentLocator& parent_locator() const { return locator_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t block_count() const { return payload_blocks_; }
  uint8_t BlockState(uint64_t block) const;

  // The longest uniform run at virtual offset `offset` (at most `max_length`, never past the block end).
  // Sector-bitmap precision for partially present blocks.
  Run Lookup(uint64_t offset, uint64_t max_length);
  void ReadFile(uint64_t file_offset, void* buffer, size_t length);

  // Writing; `offset` and `length` are logical-sector aligned and stay inside one block.
  void WriteInBlock(uint64_t offset, const uint8_t* data, uint64_t length);
  // The same with the bytes in several buffers back to back (`length` in all), written with one gathered call.
  void WriteInBlock(uint64_t offset, const ByteRun* runs, size_t count, uint64_t length);
  // The same with the bytes taken from `source` at `source_offset` (File::CopyFrom: in the kernel where it can).
  void CopyInBlock(uint64_t offset, File& source, uint64_t source_offset, uint64_t length);
  // Makes a whole block read as zeros (hiding a parent); `trim` also releases its space after the commit.
  void ZeroBlock(uint64_t block, bool trim);
  // Commits pending metadata through the log and makes all data durable.
  void Commit();
  // Commit, then mark the log clean in both headers. The layer stays readable.
  void CloseSession();
  // Metadata-only change for merges: sets parent_linkage2 (or parent_linkage when `primary`).
  void SetParentLinkage(const Guid& linkage, bool primary);
  // Metadata-only change for re-parenting: parent_linkage = `linkage` (linkage2 cleared), relative path
  // (omitted when empty) and absolute path replaced, the stale volume path dropped, other keys kept.
  // One log entry, so a crash leaves the old or the new locator, never a mix.
  void SetParentLocation(const Guid& linkage, const std::string& relative_path, const std::string& absolute_path);
  // Fixes the DataWriteGuid the session start will write (merges announce it to the child first).
  void ForceNextDataWriteGuid(const Guid& guid) { forced_data_write_guid_ = guid; has_forced_guid_ = true; }

 private:
  Layer() = default;
  void ReadHeaders();
  void ReplayLog();
  void ReadRegions();
  void ReadMetadata();
  void ReadBat(CheckFindings* findings);
  void ReadMeta(uint64_t offset, void* buffer, size_t length);
  void WriteHeaders(const Header& header);
  void BeginSession(bool data_change);
  void StartLogSession();
  uint8_t* BitmapPage(uint64_t chunk, uint64_t page);
  uint64_t AllocateSpace(uint64_t size);
  void SetBatEntry(uint64_t index, uint64_t value);
  void MarkBitmap(uint64_t offset, uint64_t length);
  // Where a write of `length` bytes at `offset` lands in the file: allocates the block (and its sector bitmap) as
  // needed, has `put` write the bytes at the file offset it is given, then records the block in the BAT and
  // bitmap (reaching the file only in a commit, after the payload is flushed). Every write path goes through it.
  void PlaceInBlock(uint64_t offset, uint64_t length, const std::function<void(uint64_t file_offset)>& put);
  void CommitIfLarge();
  void LoadLocator(const std::vector<uint8_t>& item);
  static void SetLocatorValue(ParentLocator* locator, const std::string& key, const std::string& value);
  void StoreLocator(const ParentLocator& next);

  std::string path_;
  std::unique_ptr<File> file_;
  bool writable_ = false;
  uint64_t file_size_ = 0;
  Header header_;
  int current_slot_ = 0;  // 0: header 1 is current
  std::string creator_;
  bool log_replayed_ = false;

  std::vector<RegionEntry> regions_;
  RegionEntry bat_region_;
  RegionEntry metadata_region_;
  std::vector<MetadataEntry> metadata_entries_;
  uint32_t block_size_ = 0;
  bool leave_block_allocated_ = false;
  bool has_parent_ = false;
  uint64_t virtual_size_ = 0;
  uint32_t logical_sector_size_ = 0;
  uint32_t physical_sector_size_ = 0;
  Guid disk_id_;
  ParentLocator locator_;

  uint64_t chunk_ratio_ = 0;
  uint64_t payload_blocks_ = 0;
  uint64_t bat_entries_ = 0;
  std::vector<uint8_t> bat_;  // the BAT pages, as in the file
  std::map<std::pair<uint64_t, uint64_t>, std::vector<uint8_t>> bitmap_pages_;  // (chunk, page) -> 4 KiB

  // In-memory log replay for read-only opens: ordered updates laid over every read.
  std::vector<LogWrite> overlay_;

  // Writable session.
  bool session_started_ = false;
  bool log_session_ = false;
  Guid session_log_guid_;
  uint64_t log_sequence_ = 0;
  uint64_t log_position_ = 0;
  std::set<uint64_t> dirty_bat_pages_;
  std::set<std::pair<uint64_t, uint64_t>> dirty_bitmap_pages_;  // (chunk, page)
  std::map<uint64_t, std::vector<uint8_t>> dirty_raw_pages_;    // metadata-region pages
  std::vector<std::pair<uint64_t, uint64_t>> pending_deallocations_;
  uint64_t flushed_file_size_ = 0;
  Guid forced_data_write_guid_;
  bool has_forced_guid_ = false;
};

}  // namespace hvr::vhdx
