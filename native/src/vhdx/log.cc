#include "vhdx/log.h"

#include <algorithm>
#include <cstring>

#include "vhdx/crc32c.h"
#include "vhdx/errors.h"
#include "vhdx/format.h"

namespace hvr::vhdx {
namespace {

constexpr size_t kEntryHeaderSize = 64;
constexpr size_t kDescriptorSize = 32;

uint64_t DescriptorSectors(uint64_t count) { return (count + 2 + 127) / 128; }

struct Entry {
  uint32_t position = 0;
  uint32_t length = 0;
  uint32_t tail = 0;
  uint64_t sequence = 0;
  uint64_t flushed_file_offset = 0;
  uint64_t last_file_offset = 0;
};

// Reads `length` bytes of the ring starting at `position`, wrapping at its end.
void ReadRing(const std::vector<uint8_t>& log, uint64_t position, uint8_t* out, uint64_t length) {
  uint64_t size = log.size();
  uint64_t pos = position % size;
  while (length > 0) {
    uint64_t n = std::min<uint64_t>(length, size - pos);
    std::memcpy(out, log.data() + pos, n);
    out += n;
    length -= n;
    pos = 0;
  }
}

// Validates the entry at `position` without the data-sector details; false when it is not a valid entry
// for this log (stale, torn, another session's), which is normal while scanning.
bool ParseEntry(const std::vector<uint8_t>& log, uint32_t position, const Guid& log_guid, Entry* entry,
                std::vector<uint8_t>* bytes) {
  uint8_t head[kEntryHeaderSize];
  ReadRing(log, position, head, sizeof head);
  if (!HasSignature(head, "loge")) return false;
  uint32_t length = Le32(head + 8);
  uint64_t sequence = Le64(head + 16);
  uint32_t count = Le32(head + 24);
  if (length == 0 || length % kLogSector != 0 || length > log.size() || sequence == 0) return false;
  if (Guid::FromBytes(head + 32) != log_guid) return false;
  if (DescriptorSectors(count) * kLogSector > length) return false;
  bytes->resize(length);
  ReadRing(log, position, bytes->data(), length);
  if (Crc32cWithHole(bytes->data(), length, 4) != Le32(head + 4)) return false;
  entry->position = position;
  entry->length = length;
  entry->tail = Le32(head + 12);
  entry->sequence = sequence;
  entry->flushed_file_offset = Le64(head + 48);
  entry->last_file_offset = Le64(head + 56);
  return true;
}

// Decodes the updates of a checksummed entry; malformed descriptors in the active sequence mean corruption.
void DecodeEntry(const std::string& path, const std::vector<uint8_t>& bytes, const Entry& entry,
                 uint64_t log_begin, uint64_t log_end, std::vector<LogWrite>* out) {
  uint32_t count = Le32(bytes.data() + 24);
  uint64_t data_sector = DescriptorSectors(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* d = bytes.data() + kEntryHeaderSize + size_t(i) * kDescriptorSize;
    uint64_t file_offset = Le64(d + 16);
    if (Le64(d + 24) != entry.sequence) ThrowCorrupt(path, "a log descriptor carries the wrong sequence number");
    if (file_offset % kLogSector != 0) ThrowCorrupt(path, "a log descriptor targets an offset not aligned to 4 KiB");
    LogWrite w;
    w.file_offset = file_offset;
    if (HasSignature(d, "zero")) {
      w.length = Le64(d + 8);
      if (w.length % kLogSector != 0) ThrowCorrupt(path, "a log zero descriptor has a length not aligned to 4 KiB");
    } else if (HasSignature(d, "desc")) {
      if ((data_sector + 1) * kLogSector > entry.length) ThrowCorrupt(path, "a log entry is shorter than its descriptors");
      const uint8_t* s = bytes.data() + data_sector * kLogSector;
      ++data_sector;
      if (!HasSignature(s, "data") || Le32(s + 4) != uint32_t(entry.sequence >> 32) ||
          Le32(s + 4092) != uint32_t(entry.sequence)) {
        ThrowCorrupt(path, "a log data sector does not match its descriptor");
      }
      w.length = kLogSector;
      w.data.assign(s, s + kLogSector);
      std::memcpy(w.data.data(), d + 8, 8);          // LeadingBytes
      std::memcpy(w.data.data() + 4092, d + 4, 4);   // TrailingBytes
    } else {
      ThrowCorrupt(path, "a log descriptor has an unknown signature");
    }
    if (w.length == 0) continue;
    if (w.file_offset < kLoggableMinOffset || w.file_offset + w.length < w.file_offset ||
        (w.file_offset < log_end && w.file_offset + w.length > log_begin)) {
      ThrowCorrupt(path, "a log entry targets the file header or the log itself");
    }
    out->push_back(std::move(w));
  }
}

}  // namespace

LogReplay FindActiveSequence(const std::string& path, const std::vector<uint8_t>& log, const Guid& log_guid,
                             uint64_t log_region_offset) {
  const uint64_t size = log.size();
  std::vector<Entry> best;
  std::vector<uint8_t> bytes;
  uint64_t candidate = 0;
  while (candidate < size) {
    std::vector<Entry> chain;
    Entry e;
    uint64_t pos = candidate;
    uint64_t covered = 0;
    while (covered < size && ParseEntry(log, uint32_t(pos), log_guid, &e, &bytes)) {
      if (!chain.empty() && e.sequence != chain.back().sequence + 1) break;
      chain.push_back(e);
      covered += e.length;
      pos = (pos + e.length) % size;
    }
    // A sequence is valid only if its head's Tail is the start of one of its entries.
    while (!chain.empty()) {
      const Entry& head = chain.back();
      bool tail_inside = std::any_of(chain.begin(), chain.end(), [&](const Entry& x) { return x.position == head.tail; });
      if (tail_inside) break;
      chain.pop_back();
    }
    if (chain.empty()) {
      candidate += kLogSector;
      continue;
    }
    if (best.empty() || chain.back().sequence > best.back().sequence) best = chain;
    uint64_t head_pos = chain.back().position;
    // Continue after the head; stop once the scan would wrap past where it began.
    candidate = head_pos >= candidate ? head_pos + kLogSector : size;
  }
  if (best.empty()) {
    ThrowCorrupt(path, "the header names an active log (LogGuid " + log_guid.ToString() +
                           ") but the log holds no valid entry sequence for it");
  }
  LogReplay replay;
  const Entry& head = best.back();
  replay.head_sequence = head.sequence;
  replay.head_position = head.position;
  replay.head_length = head.length;
  replay.flushed_file_offset = head.flushed_file_offset;
  replay.last_file_offset = head.last_file_offset;
  auto first = std::find_if(best.begin(), best.end(), [&](const Entry& x) { return x.position == head.tail; });
  for (auto it = first; it != best.end(); ++it) {
    Entry parsed;
    if (!ParseEntry(log, it->position, log_guid, &parsed, &bytes)) ThrowCorrupt(path, "a log entry changed while reading");
    DecodeEntry(path, bytes, parsed, log_region_offset, log_region_offset + size, &replay.writes);
  }
  return replay;
}

uint64_t LogEntrySize(size_t pages) { return (DescriptorSectors(pages) + pages) * kLogSector; }

std::vector<uint8_t> BuildLogEntry(const Guid& log_guid, uint64_t sequence, uint32_t position,
                                   uint64_t flushed_file_offset, uint64_t last_file_offset,
                                   const std::vector<LogPage>& pages) {
  uint64_t descriptor_sectors = DescriptorSectors(pages.size());
  std::vector<uint8_t> entry(LogEntrySize(pages.size()), 0);
  uint8_t* h = entry.data();
  std::memcpy(h, "loge", 4);
  Put32(h + 8, uint32_t(entry.size()));
  Put32(h + 12, position);
  Put64(h + 16, sequence);
  Put32(h + 24, uint32_t(pages.size()));
  log_guid.Store(h + 32);
  Put64(h + 48, flushed_file_offset);
  Put64(h + 56, last_file_offset);
  for (size_t i = 0; i < pages.size(); ++i) {
    uint8_t* d = h + kEntryHeaderSize + i * kDescriptorSize;
    std::memcpy(d, "desc", 4);
    std::memcpy(d + 4, pages[i].data + 4092, 4);
    std::memcpy(d + 8, pages[i].data, 8);
    Put64(d + 16, pages[i].file_offset);
    Put64(d + 24, sequence);
    uint8_t* s = h + (descriptor_sectors + i) * kLogSector;
    std::memcpy(s + 8, pages[i].data + 8, 4084);
    std::memcpy(s, "data", 4);
    Put32(s + 4, uint32_t(sequence >> 32));
    Put32(s + 4092, uint32_t(sequence));
  }
  Put32(h + 4, Crc32c(entry.data(), entry.size()));
  return entry;
}

}  // namespace hvr::vhdx
