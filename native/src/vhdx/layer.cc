#include "vhdx/layer.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "vhdx/crc32c.h"
#include "vhdx/errors.h"
#include "vhdx/format.h"
#include "vhdx/structures.h"

namespace hvr::vhdx {
namespace {

// Sanity limits that keep a hostile file from making us allocate or loop without bound.
constexpr uint64_t kMaxLogLength = 256 * kMiB;
constexpr uint64_t kMaxFileSize = 2 * kMaxVirtualSize;
// Sector-bitmap pages kept in memory (4 KiB each, 16 MiB of virtual disk per page at 512-byte sectors).
constexpr size_t kMaxCachedBitmapPages = 1024;
constexpr uint64_t kBitmapPageSize = 4096;
constexpr uint64_t kSectorsPerBitmapPage = kBitmapPageSize * 8;
constexpr size_t kCommitMargin = 40;

bool ParseHeader(const uint8_t* p, Header* h) {
  if (!HasSignature(p, "head")) return false;
  if (Crc32cWithHole(p, kHeaderSize, 4) != Le32(p + 4)) return false;
  h->sequence = Le64(p + 8);
  h->file_write_guid = Guid::FromBytes(p + 16);
  h->data_write_guid = Guid::FromBytes(p + 32);
  h->log_guid = Guid::FromBytes(p + 48);
  h->log_version = Le16(p + 64);
  h->version = Le16(p + 66);
  h->log_length = Le32(p + 68);
  h->log_offset = Le64(p + 72);
  return true;
}

std::string BlockName(uint64_t block) { return "block " + std::to_string(block); }

}  // namespace

const char* DiskTypeName(DiskType type) {
  switch (type) {
    case DiskType::kFixed:
      return "fixed";
    case DiskType::kDynamic:
      return "dynamic";
    case DiskType::kDifferencing:
      return "differencing";
  }
  return "dynamic";
}

const std::string* ParentLocator::Find(const std::string& key) const {
  for (const auto& kv : entries) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

Layer::~Layer() = default;

DiskType Layer::type() const {
  if (has_parent_) return DiskType::kDifferencing;
  return leave_block_allocated_ ? DiskType::kFixed : DiskType::kDynamic;
}

std::unique_ptr<Layer> Layer::Open(const std::string& path, bool writable, CheckFindings* findings,
                                   WriteCaching caching) {
  std::unique_ptr<Layer> layer(new Layer());
  layer->path_ = path;
  layer->writable_ = writable;
  layer->file_ = writable ? OpenForWriting(path, caching) : File::Open(path, OpenMode::kReadOnly);
  layer->file_size_ = layer->file_->Size();
  if (layer->file_size_ < kHeaderSectionSize) {
    ThrowCorrupt(path, "the file is " + std::to_string(layer->file_size_) +
                           " bytes long, shorter than the 1 MiB VHDX header section (truncated, or not a VHDX file)");
  }
  uint8_t ident[8 + 512];
  layer->file_->ReadAt(0, ident, sizeof ident);
  if (!HasSignature(ident, "vhdxfile")) ThrowCorrupt(path, "the file type identifier 'vhdxfile' is missing");
  layer->creator_ = Utf16LeToUtf8(ident + 8, 512);
  layer->ReadHeaders();
  layer->ReplayLog();
  layer->ReadRegions();
  layer->ReadMetadata();
  layer->ReadBat(findings);
  return layer;
}

void Layer::ReadHeaders() {
  std::vector<uint8_t> a(kHeaderSize), b(kHeaderSize);
  file_->ReadAt(kHeader1Offset, a.data(), kHeaderSize);
  file_->ReadAt(kHeader2Offset, b.data(), kHeaderSize);
  Header ha, hb;
  bool va = ParseHeader(a.data(), &ha);
  bool vb = ParseHeader(b.data(), &hb);
  if (!va && !vb) ThrowCorrupt(path_, "neither of the two headers has a valid signature and checksum");
  if (va && vb && ha.sequence == hb.sequence && a != b) {
    ThrowCorrupt(path_, "both headers carry sequence number " + std::to_string(ha.sequence) + " but differ");
  }
  if (va && (!vb || ha.sequence >= hb.sequence)) {
    header_ = ha;
    current_slot_ = 0;
  } else {
    header_ = hb;
    current_slot_ = 1;
  }
  if (header_.version != 1) ThrowUnsupported(path_, "header version " + std::to_string(header_.version) + " (only 1 exists)");
  if (header_.log_version != 0 && !header_.log_guid.IsZero()) {
    ThrowUnsupported(path_, "log version " + std::to_string(header_.log_version));
  }
  const uint64_t lo = header_.log_offset, ll = header_.log_length;
  if (ll % kMiB != 0 || lo % kMiB != 0 || (ll != 0 && lo < kHeaderSectionSize)) {
    ThrowCorrupt(path_, "the log is not placed on 1 MiB boundaries after the header section");
  }
  if (ll > kMaxLogLength) ThrowUnsupported(path_, "a log of " + std::to_string(ll) + " bytes (limit 256 MiB)");
  if (ll != 0 && lo + ll > file_size_) ThrowCorrupt(path_, "the log region lies past the end of the file (truncated)");
}

void Layer::ReplayLog() {
  if (header_.log_guid.IsZero()) return;
  if (header_.log_length == 0) ThrowCorrupt(path_, "the header names an active log but the log has no space");
  std::vector<uint8_t> log(header_.log_length);
  file_->ReadAt(header_.log_offset, log.data(), log.size());
  LogReplay replay = FindActiveSequence(path_, log, header_.log_guid, header_.log_offset);
  if (file_size_ < replay.flushed_file_offset) {
    ThrowCorrupt(path_, "the file is shorter than the log says it was when last flushed (truncated)");
  }
  uint64_t needed = replay.last_file_offset;
  for (const LogWrite& w : replay.writes) needed = std::max(needed, w.file_offset + w.length);
  if (needed > kMaxFileSize) ThrowCorrupt(path_, "the log extends the file beyond any possible VHDX size");
  log_replayed_ = true;
  if (!writable_) {
    overlay_ = std::move(replay.writes);
    file_size_ = std::max(file_size_, needed);
    return;
  }
  // The spec wants a fresh FileWriteGuid before the first modification, replay included.
  Header h = header_;
  h.file_write_guid = Guid::Random();
  WriteHeaders(h);
  static const std::vector<uint8_t> zeros(kMiB, 0);
  for (const LogWrite& w : replay.writes) {
    if (!w.data.empty()) {
      file_->WriteAt(w.file_offset, w.data.data(), w.data.size());
      continue;
    }
    uint64_t end = w.file_offset + w.length;
    uint64_t size = file_->Size();
    for (uint64_t off = w.file_offset; off < std::min(end, size); off += kMiB) {
      file_->WriteAt(off, zeros.data(), size_t(std::min<uint64_t>(kMiB, std::min(end, size) - off)));
    }
    if (end > size) file_->Resize(end);
  }
  if (file_->Size() < replay.last_file_offset) file_->Resize(replay.last_file_offset);
  file_->Flush();
  file_size_ = file_->Size();
  h = header_;
  h.log_guid = Guid();
  WriteHeaders(h);
}

void Layer::ReadMeta(uint64_t offset, void* buffer, size_t length) {
  if (offset + length < offset || offset + length > file_size_) {
    ThrowCorrupt(path_, "a structure at offset " + std::to_string(offset) + " lies past the end of the file (truncated)");
  }
  auto* out = static_cast<uint8_t*>(buffer);
  uint64_t real = file_->Size();
  if (offset < real) {
    size_t n = size_t(std::min<uint64_t>(length, real - offset));
    file_->ReadAt(offset, out, n);
    if (n < length) std::memset(out + n, 0, length - n);
  } else {
    std::memset(out, 0, length);
  }
  for (const LogWrite& w : overlay_) {
    uint64_t b = std::max(offset, w.file_offset);
    uint64_t e = std::min(offset + length, w.file_offset + w.length);
    if (b >= e) continue;
    if (w.data.empty()) {
      std::memset(out + (b - offset), 0, size_t(e - b));
    } else {
      std::memcpy(out + (b - offset), w.data.data() + (b - w.file_offset), size_t(e - b));
    }
  }
}

void Layer::ReadFile(uint64_t file_offset, void* buffer, size_t length) {
  if (overlay_.empty() && file_offset + length <= file_size_) {
    file_->ReadAt(file_offset, buffer, length);
    return;
  }
  ReadMeta(file_offset, buffer, length);
}

void Layer::ReadRegions() {
  std::vector<uint8_t> table(kRegionTableSize);
  bool ok = false;
  for (uint64_t where : {kRegionTable1Offset, kRegionTable2Offset}) {
    ReadMeta(where, table.data(), table.size());
    if (HasSignature(table.data(), "regi") && Crc32cWithHole(table.data(), table.size(), 4) == Le32(table.data() + 4)) {
      ok = true;
      break;
    }
  }
  if (!ok) ThrowCorrupt(path_, "neither copy of the region table has a valid signature and checksum");
  uint32_t count = Le32(table.data() + 8);
  if (count > kMaxTableEntries) ThrowCorrupt(path_, "the region table has " + std::to_string(count) + " entries (at most 2047)");
  bool have_bat = false, have_meta = false;
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  if (header_.log_length != 0) spans.emplace_back(header_.log_offset, header_.log_offset + header_.log_length);
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = table.data() + 16 + size_t(i) * 32;
    RegionEntry r;
    r.id = Guid::FromBytes(e);
    r.offset = Le64(e + 16);
    r.length = Le32(e + 24);
    r.required = (Le32(e + 28) & 1) != 0;
    for (const RegionEntry& other : regions_) {
      if (other.id == r.id) ThrowCorrupt(path_, "region " + r.id.ToString() + " is listed twice");
    }
    if (r.offset % kMiB != 0 || r.offset < kHeaderSectionSize || r.length == 0 || r.length % kMiB != 0) {
      ThrowCorrupt(path_, "region " + r.id.ToString() + " is not placed on 1 MiB boundaries after the header section");
    }
    if (r.offset + r.length > file_size_) ThrowCorrupt(path_, "region " + r.id.ToString() + " lies past the end of the file (truncated)");
    if (r.id == BatRegionGuid()) {
      bat_region_ = r;
      have_bat = true;
    } else if (r.id == MetadataRegionGuid()) {
      metadata_region_ = r;
      have_meta = true;
    } else if (r.required) {
      ThrowUnsupported(path_, "an unknown required region " + r.id.ToString());
    }
    spans.emplace_back(r.offset, r.offset + r.length);
    regions_.push_back(r);
  }
  if (!have_bat || !have_meta) ThrowCorrupt(path_, "the region table lacks the BAT or the metadata region");
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].first < spans[i - 1].second) ThrowCorrupt(path_, "the log, BAT and metadata regions overlap");
  }
}

void Layer::ReadMetadata() {
  std::vector<uint8_t> table(kMetadataTableSize);
  ReadMeta(metadata_region_.offset, table.data(), table.size());
  if (!HasSignature(table.data(), "metadata")) ThrowCorrupt(path_, "the metadata table signature is missing");
  uint16_t count = Le16(table.data() + 10);
  if (count > kMaxTableEntries) ThrowCorrupt(path_, "the metadata table has " + std::to_string(count) + " entries (at most 2047)");
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  bool have[6] = {false, false, false, false, false, false};
  const Guid known[6] = {FileParametersGuid(),    VirtualDiskSizeGuid(),    Page83Guid(),
                         LogicalSectorSizeGuid(), PhysicalSectorSizeGuid(), ParentLocatorGuid()};
  const uint32_t sizes[5] = {8, 8, 16, 4, 4};
  std::vector<uint8_t> locator_item;
  for (uint16_t i = 0; i < count; ++i) {
    const uint8_t* e = table.data() + 32 + size_t(i) * 32;
    MetadataEntry m;
    m.id = Guid::FromBytes(e);
    m.offset = Le32(e + 16);
    m.length = Le32(e + 20);
    m.flags = Le32(e + 24);
    for (const MetadataEntry& other : metadata_entries_) {
      if (other.id == m.id && (other.flags & kMetaIsUser) == (m.flags & kMetaIsUser)) {
        ThrowCorrupt(path_, "metadata item " + m.id.ToString() + " is listed twice");
      }
    }
    if (m.length != 0) {
      if (m.offset < kMetadataTableSize || m.length > kMiB || uint64_t(m.offset) + m.length > metadata_region_.length) {
        ThrowCorrupt(path_, "metadata item " + m.id.ToString() + " lies outside the metadata region");
      }
      spans.emplace_back(m.offset, uint64_t(m.offset) + m.length);
    }
    metadata_entries_.push_back(m);
    if (m.flags & kMetaIsUser) continue;
    if (m.id == IncompleteFileGuid()) {
      ThrowUnsupported(path_, "the file is marked incomplete (its creation never finished); create it again");
    }
    int which = -1;
    for (int k = 0; k < 6; ++k) {
      if (m.id == known[k]) which = k;
    }
    if (which < 0) {
      if (m.flags & kMetaIsRequired) ThrowUnsupported(path_, "an unknown required metadata item " + m.id.ToString());
      continue;
    }
    have[which] = true;
    std::vector<uint8_t> value(m.length);
    if (m.length) ReadMeta(metadata_region_.offset + m.offset, value.data(), value.size());
    if (which == 5) {
      locator_item = std::move(value);
      continue;
    }
    if (m.length != sizes[which]) ThrowCorrupt(path_, "metadata item " + m.id.ToString() + " has the wrong length");
    const uint8_t* v = value.data();
    switch (which) {
      case 0:
        block_size_ = Le32(v);
        leave_block_allocated_ = (Le32(v + 4) & 1) != 0;
        has_parent_ = (Le32(v + 4) & 2) != 0;
        break;
      case 1:
        virtual_size_ = Le64(v);
        break;
      case 2:
        disk_id_ = Guid::FromBytes(v);
        break;
      case 3:
        logical_sector_size_ = Le32(v);
        break;
      case 4:
        physical_sector_size_ = Le32(v);
        break;
      default:
        break;
    }
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].first < spans[i - 1].second) ThrowCorrupt(path_, "metadata items overlap");
  }
  const char* names[5] = {"file parameters", "virtual disk size", "virtual disk id", "logical sector size",
                          "physical sector size"};
  for (int k = 0; k < 5; ++k) {
    if (!have[k]) ThrowCorrupt(path_, std::string("the required metadata item '") + names[k] + "' is missing");
  }
  if (!IsPowerOfTwo(block_size_) || block_size_ < kMinBlockSize || block_size_ > kMaxBlockSize) {
    ThrowCorrupt(path_, "block size " + std::to_string(block_size_) + " is not a power of two from 1 MiB to 256 MiB");
  }
  if (logical_sector_size_ != 512 && logical_sector_size_ != 4096) {
    ThrowCorrupt(path_, "logical sector size " + std::to_string(logical_sector_size_) + " (must be 512 or 4096)");
  }
  if (physical_sector_size_ != 512 && physical_sector_size_ != 4096) {
    ThrowCorrupt(path_, "physical sector size " + std::to_string(physical_sector_size_) + " (must be 512 or 4096)");
  }
  if (virtual_size_ == 0 || virtual_size_ > kMaxVirtualSize || virtual_size_ % logical_sector_size_ != 0) {
    ThrowCorrupt(path_, "virtual size " + std::to_string(virtual_size_) +
                            " is not a positive multiple of the logical sector size up to 64 TiB");
  }
  if (has_parent_) {
    if (!have[5]) ThrowCorrupt(path_, "a differencing disk without a parent locator");
    LoadLocator(locator_item);
  }
}

void Layer::LoadLocator(const std::vector<uint8_t>& item) {
  if (item.size() < 20) ThrowCorrupt(path_, "the parent locator is shorter than its header");
  locator_.type = Guid::FromBytes(item.data());
  if (locator_.type != VhdxParentLocatorTypeGuid()) {
    ThrowUnsupported(path_, "parent locator type " + locator_.type.ToString() + " (only the VHDX type is known)");
  }
  uint16_t count = Le16(item.data() + 18);
  if (20 + size_t(count) * 12 > item.size()) ThrowCorrupt(path_, "the parent locator entries run past the item");
  for (uint16_t i = 0; i < count; ++i) {
    const uint8_t* e = item.data() + 20 + size_t(i) * 12;
    uint64_t ko = Le32(e), vo = Le32(e + 4), kl = Le16(e + 8), vl = Le16(e + 10);
    if (ko + kl > item.size() || vo + vl > item.size() || kl == 0) {
      ThrowCorrupt(path_, "a parent locator key or value lies outside the item");
    }
    std::string key = Utf16LeToUtf8(item.data() + ko, size_t(kl));
    if (locator_.Find(key)) ThrowCorrupt(path_, "parent locator key '" + key + "' appears twice");
    locator_.entries.emplace_back(key, Utf16LeToUtf8(item.data() + vo, size_t(vl)));
  }
  if (!locator_.Find("parent_linkage")) ThrowCorrupt(path_, "the parent locator has no parent_linkage");
}

void Layer::ReadBat(CheckFindings* findings) {
  chunk_ratio_ = (kSectorsPerChunk * logical_sector_size_) / block_size_;
  payload_blocks_ = (virtual_size_ + block_size_ - 1) / block_size_;
  uint64_t chunks = (payload_blocks_ + chunk_ratio_ - 1) / chunk_ratio_;
  bat_entries_ = has_parent_ ? chunks * (chunk_ratio_ + 1) : payload_blocks_ + (payload_blocks_ - 1) / chunk_ratio_;
  if (bat_entries_ * 8 > bat_region_.length) {
    ThrowCorrupt(path_, "the BAT region holds " + std::to_string(bat_region_.length / 8) + " entries but the disk needs " +
                            std::to_string(bat_entries_));
  }
  bat_.assign(AlignUp(bat_entries_ * 8, 4096), 0);
  ReadMeta(bat_region_.offset, bat_.data(), bat_.size());

  auto problem = [&](const std::string& what) {
    if (findings) {
      findings->errors.push_back(what);
    } else {
      ThrowCorrupt(path_, what);
    }
  };
  std::vector<std::pair<uint64_t, uint64_t>> spans;  // (start, end) of every allocated structure
  spans.emplace_back(0, kHeaderSectionSize);
  for (const RegionEntry& r : regions_) spans.emplace_back(r.offset, r.offset + r.length);
  if (header_.log_length) spans.emplace_back(header_.log_offset, header_.log_offset + header_.log_length);
  for (uint64_t index = 0; index < bat_entries_; ++index) {
    uint64_t entry = Le64(bat_.data() + index * 8);
    uint8_t state = uint8_t(entry & kBatStateMask);
    uint64_t offset = (entry >> 20) * kMiB;
    bool is_sb = index % (chunk_ratio_ + 1) == chunk_ratio_;
    uint64_t block = index - index / (chunk_ratio_ + 1);
    if ((entry & kBatReservedMask) && findings) findings->warnings.push_back("BAT entry " + std::to_string(index) + " has reserved bits set");
    if (is_sb) {
      if (state == kSbNotPresent) continue;
      if (state != kSbPresent) {
        problem("sector bitmap entry " + std::to_string(index) + " has invalid state " + std::to_string(state));
        continue;
      }
      if (findings) ++findings->sector_bitmap_blocks;
      if (offset < kHeaderSectionSize || offset + kSectorBitmapBlockSize > file_size_) {
        problem("the sector bitmap of chunk " + std::to_string(index / (chunk_ratio_ + 1)) + " points past the end of the file");
        continue;
      }
      spans.emplace_back(offset, offset + kSectorBitmapBlockSize);
      continue;
    }
    if (block >= payload_blocks_) continue;
    if (state == 4 || (state == kPayloadPartiallyPresent && !has_parent_)) {
      problem(BlockName(block) + " has invalid state " + std::to_string(state));
      continue;
    }
    if (state == kPayloadPartiallyPresent) {
      uint64_t sb = (block / chunk_ratio_) * (chunk_ratio_ + 1) + chunk_ratio_;
      if (sb >= bat_entries_ || (Le64(bat_.data() + sb * 8) & kBatStateMask) != kSbPresent) {
        problem(BlockName(block) + " is partially present but its chunk has no sector bitmap");
      }
    }
    if (state != kPayloadFullyPresent && state != kPayloadPartiallyPresent) continue;
    if (findings) ++findings->allocated_blocks;
    uint64_t extent = std::min<uint64_t>(block_size_, virtual_size_ - block * block_size_);
    if (offset < kHeaderSectionSize || offset + extent > file_size_) {
      problem("the BAT entry of " + BlockName(block) + " points past the end of the file (truncated)");
      continue;
    }
    spans.emplace_back(offset, offset + extent);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].first < spans[i - 1].second) {
      problem("two allocated blocks or regions overlap at file offset " + std::to_string(spans[i].first));
      break;
    }
  }
}

uint8_t Layer::BlockState(uint64_t block) const {
  uint64_t index = block + block / chunk_ratio_;
  return uint8_t(Le64(bat_.data() + index * 8) & kBatStateMask);
}

// One 4 KiB page of a chunk's sector bitmap. Only the page a lookup or write touches is read: a 2 MiB
// block needs 512 bytes of its chunk's 1 MiB bitmap, so reading the whole block per chunk made listing
// changes spread over a large disk cost a 1 MiB read per 4 GiB touched.
uint8_t* Layer::BitmapPage(uint64_t chunk, uint64_t page) {
  const std::pair<uint64_t, uint64_t> key{chunk, page};
  auto it = bitmap_pages_.find(key);
  if (it != bitmap_pages_.end()) return it->second.data();
  if (bitmap_pages_.size() >= kMaxCachedBitmapPages) {
    // Dirty pages must stay until their commit; clean ones can be read again.
    for (auto victim = bitmap_pages_.begin(); victim != bitmap_pages_.end();) {
      victim = dirty_bitmap_pages_.count(victim->first) ? std::next(victim) : bitmap_pages_.erase(victim);
    }
  }
  std::vector<uint8_t>& bits = bitmap_pages_[key];
  bits.assign(kBitmapPageSize, 0);
  uint64_t index = chunk * (chunk_ratio_ + 1) + chunk_ratio_;
  if (index < bat_entries_) {
    uint64_t entry = Le64(bat_.data() + index * 8);
    if ((entry & kBatStateMask) == kSbPresent) ReadMeta((entry >> 20) * kMiB + page * kBitmapPageSize, bits.data(), bits.size());
  }
  return bits.data();
}

Layer::Run Layer::Lookup(uint64_t offset, uint64_t max_length) {
  uint64_t block = offset / block_size_;
  uint64_t in_block = offset % block_size_;
  uint64_t length = std::min({max_length, uint64_t(block_size_) - in_block, virtual_size_ - offset});
  uint64_t entry = Le64(bat_.data() + (block + block / chunk_ratio_) * 8);
  uint64_t file_offset = (entry >> 20) * kMiB + in_block;
  switch (entry & kBatStateMask) {
    case kPayloadFullyPresent:
      return {RunKind::kData, length, file_offset};
    case kPayloadNotPresent:
      return {RunKind::kParent, length, 0};
    case kPayloadPartiallyPresent: {
      const uint64_t lss = logical_sector_size_;
      uint64_t sector = offset / lss;
      uint64_t last_sector = (offset + length - 1) / lss;
      const uint64_t chunk = sector / kSectorsPerChunk;  // a block never spans chunks
      const uint8_t* page = nullptr;
      uint64_t page_index = ~uint64_t(0);
      auto byte = [&](uint64_t i) {  // i: sector index within the chunk
        uint64_t p = i / kSectorsPerBitmapPage;
        if (p != page_index) {
          page = BitmapPage(chunk, p);
          page_index = p;
        }
        return page[(i % kSectorsPerBitmapPage) >> 3];
      };
      auto bit = [&](uint64_t s) {
        uint64_t i = s % kSectorsPerChunk;
        return (byte(i) >> (i & 7)) & 1;
      };
      int value = bit(sector);
      uint64_t s = sector + 1;
      // Whole bytes at a time once aligned: bitmaps of mostly-written blocks are long runs.
      while (s <= last_sector) {
        uint64_t i = s % kSectorsPerChunk;
        if ((i & 7) == 0 && s + 7 <= last_sector && byte(i) == (value ? 0xFF : 0x00)) {
          s += 8;
          continue;
        }
        if (bit(s) != value) break;
        ++s;
      }
      uint64_t run = std::min(s * lss - offset, length);
      return value ? Run{RunKind::kData, run, file_offset} : Run{RunKind::kParent, run, 0};
    }
    default:
      return {RunKind::kZero, length, 0};
  }
}

// ---- writing ------------------------------------------------------------------------------------

void Layer::WriteHeaders(const Header& h) {
  Header next = h;
  for (int i = 0; i < 2; ++i) {
    next.sequence = header_.sequence + 1;
    int slot = 1 - current_slot_;
    std::vector<uint8_t> bytes = SerializeHeader(next);
    file_->WriteAt(slot == 0 ? kHeader1Offset : kHeader2Offset, bytes.data(), bytes.size());
    file_->Flush();
    header_ = next;
    current_slot_ = slot;
  }
}

void Layer::StartLogSession() {
  if (header_.log_length < kMiB) ThrowUnsupported(path_, "writing to a file without log space");
  session_log_guid_ = Guid::Random();
  log_sequence_ = 1;
  // An empty first entry makes the sequence valid before the header names it, so a crash between the
  // two writes never leaves a LogGuid without a log.
  std::vector<uint8_t> entry = BuildLogEntry(session_log_guid_, log_sequence_, 0, AlignDown(file_size_, kMiB),
                                             AlignUp(file_size_, kMiB), {});
  file_->WriteAt(header_.log_offset, entry.data(), entry.size());
  file_->Flush();
  log_position_ = entry.size();
  ++log_sequence_;
}

void Layer::BeginSession(bool data_change) {
  if (!writable_) throw NativeError(codes::kReadOnly, "'" + path_ + "' is open read-only; open it with writable: true to change it");
  if (session_started_) return;
  StartLogSession();
  Header h = header_;
  h.file_write_guid = Guid::Random();
  if (data_change) h.data_write_guid = has_forced_guid_ ? forced_data_write_guid_ : Guid::Random();
  h.log_guid = session_log_guid_;
  WriteHeaders(h);
  session_started_ = true;
  flushed_file_size_ = file_size_;
}

uint64_t Layer::AllocateSpace(uint64_t size) {
  uint64_t offset = AlignUp(file_size_, kMiB);
  if (offset + size > kMaxFileSize) ThrowInvalid("'" + path_ + "' cannot grow beyond the VHDX size limit");
  file_->Resize(offset + size);
  file_size_ = offset + size;
  return offset;
}

void Layer::SetBatEntry(uint64_t index, uint64_t value) {
  Put64(bat_.data() + index * 8, value);
  dirty_bat_pages_.insert(index * 8 / 4096);
}

void Layer::MarkBitmap(uint64_t offset, uint64_t length) {
  const uint64_t lss = logical_sector_size_;
  uint64_t first = offset / lss, end = (offset + length) / lss;
  uint64_t chunk = first / kSectorsPerChunk;  // a block never spans chunks
  uint8_t* page = nullptr;
  uint64_t page_index = ~uint64_t(0);
  for (uint64_t s = first; s < end; ++s) {
    uint64_t i = s % kSectorsPerChunk;
    uint64_t p = i / kSectorsPerBitmapPage;
    if (p != page_index) {
      page = BitmapPage(chunk, p);
      page_index = p;
      // Marked dirty at once, so a page load for the next page can never evict this one.
      dirty_bitmap_pages_.insert({chunk, p});
    }
    uint8_t& b = page[(i % kSectorsPerBitmapPage) >> 3];
    if ((i & 7) == 0 && s + 8 <= end) {
      b = 0xFF;
      s += 7;
    } else {
      b = uint8_t(b | (1u << (i & 7)));
    }
  }
}

void Layer::WriteInBlock(uint64_t offset, const uint8_t* data, uint64_t length) {
  const ByteRun run{data, size_t(length)};
  WriteInBlock(offset, &run, 1, length);
}

void Layer::WriteInBlock(uint64_t offset, const ByteRun* runs, size_t count, uint64_t length) {
  PlaceInBlock(offset, length, [&](uint64_t file_offset) { file_->WriteGatherAt(file_offset, runs, count); });
}

void Layer::CopyInBlock(uint64_t offset, File& source, uint64_t source_offset, uint64_t length) {
  PlaceInBlock(offset, length, [&](uint64_t file_offset) { file_->CopyFrom(source, source_offset, file_offset, length); });
}

void Layer::PlaceInBlock(uint64_t offset, uint64_t length, const std::function<void(uint64_t file_offset)>& put) {
  BeginSession(true);
  uint64_t block = offset / block_size_;
  uint64_t in_block = offset % block_size_;
  uint64_t index = block + block / chunk_ratio_;
  uint64_t entry = Le64(bat_.data() + index * 8);
  uint8_t state = uint8_t(entry & kBatStateMask);
  uint64_t base = (entry >> 20) * kMiB;
  if (state == kPayloadFullyPresent || state == kPayloadPartiallyPresent) {
    put(base + in_block);
    if (state == kPayloadPartiallyPresent) MarkBitmap(offset, length);
    CommitIfLarge();
    return;
  }
  bool whole = in_block == 0 && (length == block_size_ || offset + length == virtual_size_);
  if (state == kPayloadNotPresent && has_parent_ && !whole) {
    uint64_t chunk = block / chunk_ratio_;
    uint64_t sb_index = chunk * (chunk_ratio_ + 1) + chunk_ratio_;
    if ((Le64(bat_.data() + sb_index * 8) & kBatStateMask) != kSbPresent) {
      // Cached pages of a chunk without a bitmap are zeros, which is what the new (zeroed) space holds.
      uint64_t sb = AllocateSpace(kSectorBitmapBlockSize);
      SetBatEntry(sb_index, (sb / kMiB) << 20 | kSbPresent);
    }
    base = AllocateSpace(block_size_);
    put(base + in_block);
    SetBatEntry(index, (base / kMiB) << 20 | kPayloadPartiallyPresent);
    MarkBitmap(offset, length);
  } else {
    // New space reads as zeros, which is what every other state shows for the rest of the block.
    base = AllocateSpace(block_size_);
    put(base + in_block);
    SetBatEntry(index, (base / kMiB) << 20 | kPayloadFullyPresent);
  }
  CommitIfLarge();
}

void Layer::ZeroBlock(uint64_t block, bool trim) {
  BeginSession(true);
  uint64_t index = block + block / chunk_ratio_;
  uint64_t entry = Le64(bat_.data() + index * 8);
  uint8_t state = uint8_t(entry & kBatStateMask);
  if (trim && (state == kPayloadFullyPresent || state == kPayloadPartiallyPresent)) {
    pending_deallocations_.emplace_back((entry >> 20) * kMiB, block_size_);
  }
  SetBatEntry(index, kPayloadZero);
  CommitIfLarge();
}

void Layer::CommitIfLarge() {
  size_t pages = dirty_bat_pages_.size() + dirty_bitmap_pages_.size() + dirty_raw_pages_.size();
  size_t capacity = size_t(header_.log_length / kLogSector) - 8;
  if (pages + kCommitMargin >= capacity) Commit();
}

void Layer::Commit() {
  if (!writable_) return;
  if (dirty_bat_pages_.empty() && dirty_bitmap_pages_.empty() && dirty_raw_pages_.empty()) {
    file_->Flush();
    return;
  }
  // Payload first: the BAT and bitmaps may only point at data that is already durable.
  file_->Flush();
  std::vector<LogPage> pages;
  for (uint64_t p : dirty_bat_pages_) pages.push_back({bat_region_.offset + p * 4096, bat_.data() + p * 4096});
  for (const auto& cp : dirty_bitmap_pages_) {
    uint64_t sb_index = cp.first * (chunk_ratio_ + 1) + chunk_ratio_;
    uint64_t sb = (Le64(bat_.data() + sb_index * 8) >> 20) * kMiB;
    pages.push_back({sb + cp.second * kBitmapPageSize, bitmap_pages_[cp].data()});
  }
  for (const auto& raw : dirty_raw_pages_) pages.push_back({raw.first, raw.second.data()});
  uint64_t size = LogEntrySize(pages.size());
  if (size > header_.log_length) ThrowUnsupported(path_, "a metadata update larger than the log");
  if (log_position_ + size > header_.log_length) log_position_ = 0;
  std::vector<uint8_t> entry = BuildLogEntry(session_log_guid_, log_sequence_, uint32_t(log_position_),
                                             AlignDown(file_size_, kMiB), AlignUp(file_size_, kMiB), pages);
  file_->WriteAt(header_.log_offset + log_position_, entry.data(), entry.size());
  file_->Flush();
  for (const LogPage& page : pages) file_->WriteAt(page.file_offset, page.data, 4096);
  file_->Flush();
  log_position_ += size;
  ++log_sequence_;
  dirty_bat_pages_.clear();
  dirty_bitmap_pages_.clear();
  dirty_raw_pages_.clear();
  for (const auto& d : pending_deallocations_) file_->Deallocate(d.first, d.second);
  pending_deallocations_.clear();
}

void Layer::CloseSession() {
  if (!session_started_) return;
  Commit();
  Header h = header_;
  h.log_guid = Guid();
  WriteHeaders(h);
  session_started_ = false;
  has_forced_guid_ = false;
}

void Layer::SetParentLinkage(const Guid& linkage, bool primary) {
  if (!has_parent_) ThrowInvalid("'" + path_ + "' is not a differencing disk");
  ParentLocator next = locator_;
  std::string text = linkage.ToString();
  if (primary) {
    SetLocatorValue(&next, "parent_linkage", text);
    if (next.Find("parent_linkage2")) SetLocatorValue(&next, "parent_linkage2", Guid().ToString());
  } else {
    SetLocatorValue(&next, "parent_linkage2", text);
  }
  StoreLocator(next);
}

void Layer::SetParentLocation(const Guid& linkage, const std::string& relative_path, const std::string& absolute_path) {
  if (!has_parent_) ThrowInvalid("'" + path_ + "' is not a differencing disk");
  ParentLocator next;
  next.type = locator_.type;
  // Keys are rewritten in their stored order; unknown keys are kept (MS-VHDX: preserve what you do not
  // understand). A volume path names the old parent's volume and cannot be derived here, so it goes.
  for (const auto& kv : locator_.entries) {
    if (kv.first == "volume_path" || kv.first == "relative_path" || kv.first == "absolute_win32_path") continue;
    next.entries.push_back(kv);
  }
  SetLocatorValue(&next, "parent_linkage", linkage.ToString());
  if (next.Find("parent_linkage2")) SetLocatorValue(&next, "parent_linkage2", Guid().ToString());
  if (!relative_path.empty()) next.entries.emplace_back("relative_path", relative_path);
  next.entries.emplace_back("absolute_win32_path", absolute_path);
  StoreLocator(next);
}

void Layer::SetLocatorValue(ParentLocator* locator, const std::string& key, const std::string& value) {
  for (auto& kv : locator->entries) {
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  }
  locator->entries.emplace_back(key, value);
}

void Layer::StoreLocator(const ParentLocator& next) {
  BeginSession(false);
  std::vector<uint8_t> item = SerializeLocator(next);
  if (item.size() > kMiB) ThrowInvalid("the parent locator of '" + path_ + "' would exceed the 1 MiB item limit");
  size_t entry_index = metadata_entries_.size();
  std::vector<std::pair<uint64_t, uint64_t>> used;  // every other item's span in the region
  for (size_t i = 0; i < metadata_entries_.size(); ++i) {
    const MetadataEntry& m = metadata_entries_[i];
    if (m.id == ParentLocatorGuid() && !(m.flags & kMetaIsUser)) {
      entry_index = i;
    } else if (m.length != 0) {
      used.emplace_back(m.offset, uint64_t(m.offset) + m.length);
    }
  }
  if (entry_index == metadata_entries_.size()) ThrowCorrupt(path_, "the parent locator item vanished");
  MetadataEntry& entry = metadata_entries_[entry_index];
  // First fit in the region, counting the item's own old span as free: the table entry and the item
  // travel in one log entry, so overwriting the old item in place is as atomic as moving it, and
  // repeated re-parenting never walks the item off the end of the region.
  std::sort(used.begin(), used.end());
  uint64_t at = kMetadataTableSize;
  for (const auto& span : used) {
    if (at + item.size() <= span.first) break;
    at = std::max(at, AlignUp(span.second, 8));
  }
  if (at + item.size() > metadata_region_.length) ThrowUnsupported(path_, "a metadata region too full to grow the parent locator");
  entry.offset = uint32_t(at);
  entry.length = uint32_t(item.size());
  // Stage every touched metadata page (table entry and item) as a logged raw page.
  auto stage = [this](uint64_t region_offset, const uint8_t* bytes, size_t length) {
    uint64_t file_offset = metadata_region_.offset + region_offset;
    for (uint64_t page = AlignDown(file_offset, 4096); page < file_offset + length; page += 4096) {
      auto it = dirty_raw_pages_.find(page);
      if (it == dirty_raw_pages_.end()) {
        std::vector<uint8_t> content(4096);
        ReadMeta(page, content.data(), content.size());
        it = dirty_raw_pages_.emplace(page, std::move(content)).first;
      }
      uint64_t b = std::max(page, file_offset), e = std::min(page + 4096, file_offset + length);
      std::memcpy(it->second.data() + (b - page), bytes + (b - file_offset), size_t(e - b));
    }
  };
  uint8_t table_entry[12];
  Put32(table_entry, entry.offset);
  Put32(table_entry + 4, entry.length);
  Put32(table_entry + 8, entry.flags);
  stage(32 + entry_index * 32 + 16, table_entry, sizeof table_entry);
  stage(entry.offset, item.data(), item.size());
  Commit();
  locator_ = next;
}

}  // namespace hvr::vhdx
