// A list of JS buffers that work on libuv's pool reads back to back (a record's payload as it arrived in
// network chunks): their memory, kept alive by their values until the work has run. A disk write takes the
// pieces as they are (Disk::Write gathers them into the file); what needs one buffer gets Gathered(), a join
// into the pool thread's own reused buffer, so no JS buffer is made for it and the copy runs off the JS thread.
#pragma once

#include <napi.h>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "binding/js_errors.h"
#include "core/byte_runs.h"

namespace hvr::binding {

struct BufferPieces {
  std::vector<ByteRun> pieces;
  // Each buffer itself, not only its array: the caller may change the array while the work waits.
  std::vector<Napi::Value> keep;
  size_t length = 0;

  // On the pool thread: the bytes back to back, a single piece's own memory or this thread's gather buffer
  // (valid until the thread's next call).
  const uint8_t* Gathered() const {
    if (pieces.size() == 1) return pieces[0].data;
    static thread_local std::vector<uint8_t> gathered;
    gathered.resize(length);
    size_t at = 0;
    for (const auto& [data, size] : pieces) {
      if (size > 0) std::memcpy(gathered.data() + at, data, size);
      at += size;
    }
    return gathered.data();
  }
};

// A buffer or an array of buffers (`single` allows the former); anything else throws the usage.
inline BufferPieces ReadBufferPieces(Napi::Env env, const Napi::Value& value, bool single, const char* usage) {
  BufferPieces out;
  auto add = [&](const Napi::Value& item) {
    if (!item.IsTypedArray()) ThrowUsage(env, usage);
    Napi::Uint8Array piece = item.As<Napi::Uint8Array>();
    out.pieces.push_back({piece.Data(), piece.ByteLength()});
    out.keep.push_back(item);
    out.length += piece.ByteLength();
  };
  if (value.IsArray()) {
    Napi::Array array = value.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) add(array.Get(i));
  } else if (single) {
    add(value);
  } else {
    ThrowUsage(env, usage);
  }
  return out;
}

}  // namespace hvr::binding
