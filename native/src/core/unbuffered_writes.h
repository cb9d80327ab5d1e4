// A file whose large writes bypass the page cache: the replica's staging disk, written once from front to back
// while a full copy arrives. Buffered, each byte costs the kernel a copy into the page cache (on the replica
// server about as much CPU as its whole main thread) and leaves dirty pages that the final flush waits for; on
// a disk slower than the network that flush was seconds long.
#pragma once

#include <memory>
#include <string>

#include "core/file.h"

namespace hvr {

enum class WriteCaching {
  kBuffered,
  // The aligned middle of each large gathered write goes through an UnbufferedFile, from bounce buffers,
  // several at once; everything else (heads and tails of writes, metadata, reads) through the page cache.
  // Buffered where the file system takes no unbuffered writes.
  kUnbufferedWherePossible,
};

// Opens an existing file read-write with the given caching of its writes.
std::unique_ptr<File> OpenForWriting(const std::string& path, WriteCaching caching);

// Whether `file`'s large writes bypass the page cache now (false once the file system refused one).
bool WritesUnbuffered(const File& file);

}  // namespace hvr
