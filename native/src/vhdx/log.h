// The VHDX log (MS-VHDX 2.3): finding the active sequence of an existing log, and building the entries
// this engine writes. Pure functions over memory; the layer does the file I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vhdx/guid.h"

namespace hvr::vhdx {

// One update the log asks for: `data` (a multiple of 4 KiB) or, when `data` is empty, `length` zero bytes.
struct LogWrite {
  uint64_t file_offset = 0;
  uint64_t length = 0;
  std::vector<uint8_t> data;
};

struct LogReplay {
  uint64_t head_sequence = 0;
  uint32_t head_position = 0;
  uint32_t head_length = 0;
  uint64_t flushed_file_offset = 0;
  uint64_t last_file_offset = 0;
  // In order: the entries from the head's Tail to the head.
  std::vector<LogWrite> writes;
};

// Finds the active sequence in `log` (the whole log region) for `log_guid` and returns what to replay.
// Throws ERR_VHDX_CORRUPT (naming `path`) when no valid sequence exists or an entry in it is malformed.
// `log_region` is [offset, offset + log.size()) in the file; no update may target it or the headers.
LogReplay FindActiveSequence(const std::string& path, const std::vector<uint8_t>& log, const Guid& log_guid,
                             uint64_t log_region_offset);

struct LogPage {
  uint64_t file_offset;
  const uint8_t* data;  // 4096 bytes
};

// Serialises one entry: descriptor sectors then one data sector per page. Its Tail is itself (`position`),
// because the writer applies every entry before it writes the next.
std::vector<uint8_t> BuildLogEntry(const Guid& log_guid, uint64_t sequence, uint32_t position,
                                   uint64_t flushed_file_offset, uint64_t last_file_offset,
                                   const std::vector<LogPage>& pages);

// Bytes an entry with `pages` data pages occupies.
uint64_t LogEntrySize(size_t pages);

}  // namespace hvr::vhdx
