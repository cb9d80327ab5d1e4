// JS_ functions of the VHDX engine. Every call that touches a file runs on the libuv pool; a disk's
// calls are serialised by its mutex, so concurrent promises on one handle are safe.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "binding/async_work.h"
#include "binding/buffer_pieces.h"
#include "binding/registry.h"
#include "hash/block_hash.h"
#include "vhdx/check.h"
#include "vhdx/create.h"
#include "vhdx/disk.h"
#include "vhdx/errors.h"
#include "vhdx/merge.h"
#include "vhdx/reparent.h"

namespace hvr::binding {
namespace {

using vhdx::Disk;

struct InfoSnapshot {
  std::string path, type, disk_id, data_write_guid, file_write_guid, creator, parent_path, locator_type;
  uint64_t virtual_size = 0, file_size = 0;
  uint32_t block_size = 0, logical_sector_size = 0, physical_sector_size = 0;
  bool log_replayed = false, has_parent = false;
  std::vector<std::pair<std::string, std::string>> locator;
  std::vector<std::string> chain;
};

struct Handle {
  std::shared_ptr<Disk> disk;
  InfoSnapshot info;
};

InfoSnapshot Snapshot(Disk& disk) {
  InfoSnapshot s;
  vhdx::Layer& top = disk.top();
  s.path = top.path();
  s.type = vhdx::DiskTypeName(top.type());
  s.virtual_size = top.virtual_size();
  s.block_size = top.block_size();
  s.logical_sector_size = top.logical_sector_size();
  s.physical_sector_size = top.physical_sector_size();
  s.disk_id = top.disk_id().ToString();
  s.data_write_guid = top.header().data_write_guid.ToString();
  s.file_write_guid = top.header().file_write_guid.ToString();
  s.creator = top.creator();
  s.file_size = top.file_size();
  s.log_replayed = top.log_replayed();
  s.has_parent = top.has_parent();
  if (s.has_parent) {
    s.locator_type = top.parent_locator().type.ToString();
    s.locator = top.parent_locator().entries;
    if (disk.depth() > 1) s.parent_path = disk.layer(1).path();
  }
  for (size_t i = 0; i < disk.depth(); ++i) s.chain.push_back(disk.layer(i).path());
  return s;
}

Napi::Value InfoToJs(Napi::Env env, const InfoSnapshot& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", s.path);
  o.Set("type", s.type);
  o.Set("virtualSize", Napi::Number::New(env, double(s.virtual_size)));
  o.Set("blockSize", Napi::Number::New(env, s.block_size));
  o.Set("logicalSectorSize", Napi::Number::New(env, s.logical_sector_size));
  o.Set("physicalSectorSize", Napi::Number::New(env, s.physical_sector_size));
  o.Set("diskId", s.disk_id);
  o.Set("dataWriteGuid", s.data_write_guid);
  o.Set("fileWriteGuid", s.file_write_guid);
  o.Set("creator", s.creator);
  o.Set("fileSize", Napi::Number::New(env, double(s.file_size)));
  o.Set("logReplayed", Napi::Boolean::New(env, s.log_replayed));
  if (s.has_parent) {
    Napi::Object loc = Napi::Object::New(env);
    loc.Set("type", s.locator_type);
    Napi::Object entries = Napi::Object::New(env);
    for (const auto& kv : s.locator) entries.Set(kv.first, kv.second);
    loc.Set("entries", entries);
    o.Set("parentLocator", loc);
  } else {
    o.Set("parentLocator", env.Null());
  }
  o.Set("parentPath", s.parent_path.empty() ? env.Null() : Napi::String::New(env, s.parent_path));
  Napi::Array chain = Napi::Array::New(env, s.chain.size());
  for (size_t i = 0; i < s.chain.size(); ++i) chain.Set(uint32_t(i), s.chain[i]);
  o.Set("chain", chain);
  return o;
}

std::shared_ptr<Handle> GetHandle(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || !info[index].IsExternal()) ThrowUsage(info.Env(), "expected a VHDX handle");
  return *info[index].As<Napi::External<std::shared_ptr<Handle>>>().Data();
}

uint64_t GetOffset(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || !info[index].IsNumber()) ThrowUsage(info.Env(), "expected a byte offset");
  double v = info[index].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v > 9007199254740991.0 || std::floor(v) != v) ThrowUsage(info.Env(), "offsets must be safe non-negative integers");
  return uint64_t(v);
}

std::string GetString(const Napi::CallbackInfo& info, size_t index, const char* usage) {
  if (info.Length() <= index || !info[index].IsString()) ThrowUsage(info.Env(), usage);
  return info[index].As<Napi::String>();
}

Napi::Value Undefined(Napi::Env env, bool&) { return env.Undefined(); }

// The name of one of the addon's fast hashes (hash/block_hash.h), or a usage error.
hash::BlockHash BlockHashArgument(const Napi::Env& env, const std::string& name) {
  if (auto algorithm = hash::BlockHashNamed(name)) return *algorithm;
  ThrowUsage(env, ("unknown block hash '" + name + "': expected blake3 or xxh128").c_str());
}

template <typename Fn>
Napi::Promise OnDisk(const Napi::CallbackInfo& info, const char* name, std::shared_ptr<Handle> handle, Fn fn,
                     std::vector<Napi::Value> keep = {}) {
  return PromiseWorker<bool>::Run(
      info.Env(), name,
      [handle, fn] {
        std::lock_guard<std::mutex> lock(handle->disk->mutex());
        if (handle->disk->closed()) throw NativeError(vhdx::codes::kClosed, "the VHDX disk is closed");
        fn(*handle->disk);
        return true;
      },
      Undefined, std::move(keep));
}

Napi::Value JsOpen(const Napi::CallbackInfo& info) {
  std::string path = GetString(info, 0, "Usage: vhdxOpen(path, writable, withParents, unbufferedWrites)");
  bool writable = info.Length() > 1 && info[1].ToBoolean();
  bool with_parents = info.Length() < 3 || info[2].ToBoolean();
  WriteCaching caching = info.Length() > 3 && info[3].ToBoolean() ? WriteCaching::kUnbufferedWherePossible
                                                                   : WriteCaching::kBuffered;
  return PromiseWorker<std::shared_ptr<Handle>>::Run(
      info.Env(), "hvr.vhdxOpen",
      [path, writable, with_parents, caching] {
        auto handle = std::make_shared<Handle>();
        handle->disk = Disk::Open(path, writable, with_parents, caching);
        handle->info = Snapshot(*handle->disk);
        return handle;
      },
      [](Napi::Env env, std::shared_ptr<Handle>& handle) -> Napi::Value {
        return Napi::External<std::shared_ptr<Handle>>::New(
            env, new std::shared_ptr<Handle>(handle), [](Napi::Env, std::shared_ptr<Handle>* p) { delete p; });
      });
}

Napi::Value JsInfo(const Napi::CallbackInfo& info) { return InfoToJs(info.Env(), GetHandle(info, 0)->info); }

// Whether the disk's large writes bypass the page cache now; waits for a call in flight on the disk (short).
Napi::Value JsWritesUnbuffered(const Napi::CallbackInfo& info) {
  auto handle = GetHandle(info, 0);
  std::lock_guard<std::mutex> lock(handle->disk->mutex());
  return Napi::Boolean::New(info.Env(), !handle->disk->closed() && handle->disk->top().writes_unbuffered());
}

Napi::Value JsRead(const Napi::CallbackInfo& info) {
  auto handle = GetHandle(info, 0);
  uint64_t offset = GetOffset(info, 1);
  if (info.Length() < 3 || !info[2].IsTypedArray()) ThrowUsage(info.Env(), "Usage: vhdxRead(handle, offset, buffer)");
  Napi::Uint8Array buffer = info[2].As<Napi::Uint8Array>();
  uint8_t* data = buffer.Data();
  uint64_t length = buffer.ByteLength();
  return PromiseWorker<uint64_t>::Run(
      info.Env(), "hvr.vhdxRead",
      [handle, offset, data, length] {
        std::lock_guard<std::mutex> lock(handle->disk->mutex());
        if (handle->disk->closed()) throw NativeError(vhdx::codes::kClosed, "read: the VHDX disk is closed");
        handle->disk->Read(offset, data, length);
        return length;
      },
      [](Napi::Env env, uint64_t& n) -> Napi::Value { return Napi::Number::New(env, double(n)); }, {buffer});
}

// vhdxReadRanges(handle, ranges, buffer, digests?) fills `buffer` with the virtual ranges [offset, length, offset,
// length, ...] of `ranges` (a Float64Array), back to back, in one pool job. A delta cycle reads hundreds of small
// scattered extents; one job per extent cost each a thread-pool round trip and a wake-up of a pool thread that took
// the JS thread's core (bench/replication/README.md, "Runs E"). With `digests` (a 32-byte slot per range) and
// `algorithm` ('blake3' or 'xxh128') the digest of each range is computed in the same job, while its bytes are
// still in the CPU's cache (a log's record checksum is built on it: src/protocol/record-hash.ts).
Napi::Value JsReadRanges(const Napi::CallbackInfo& info) {
  constexpr const char* kUsage = "Usage: vhdxReadRanges(handle, ranges: Float64Array, buffer[, digests, algorithm])";
  auto handle = GetHandle(info, 0);
  if (info.Length() < 3 || !info[1].IsTypedArray() || !info[2].IsTypedArray()) ThrowUsage(info.Env(), kUsage);
  Napi::TypedArray raw = info[1].As<Napi::TypedArray>();
  if (raw.TypedArrayType() != napi_float64_array || raw.ElementLength() % 2 != 0) ThrowUsage(info.Env(), kUsage);
  Napi::Float64Array flat = raw.As<Napi::Float64Array>();
  Napi::Uint8Array buffer = info[2].As<Napi::Uint8Array>();
  const uint64_t capacity = buffer.ByteLength();
  const size_t count = flat.ElementLength() / 2;
  std::vector<std::pair<uint64_t, uint64_t>> ranges(count);
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const double offset = flat[2 * i];
    const double length = flat[2 * i + 1];
    if (!(offset >= 0) || !(length >= 0) || offset > 9007199254740991.0 || length > 9007199254740991.0 || std::floor(offset) != offset ||
        std::floor(length) != length) {
      ThrowUsage(info.Env(), "range offsets and lengths must be safe non-negative integers");
    }
    // Checked against the room left, not summed first: 2^64 bytes of ranges would wrap to the buffer's length.
    if (uint64_t(length) > capacity - total) ThrowUsage(info.Env(), "the ranges must add up to the buffer's length");
    ranges[i] = {uint64_t(offset), uint64_t(length)};
    total += uint64_t(length);
  }
  if (total != capacity) ThrowUsage(info.Env(), "the ranges must add up to the buffer's length");
  uint8_t* digests = nullptr;
  hash::BlockHash algorithm = hash::BlockHash::kBlake3;
  std::vector<Napi::Value> keep{buffer};
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsTypedArray()) ThrowUsage(info.Env(), kUsage);
    Napi::Uint8Array out = info[3].As<Napi::Uint8Array>();
    if (out.ByteLength() != count * hash::kDigestSlot) ThrowUsage(info.Env(), "digests must hold 32 bytes per range");
    algorithm = BlockHashArgument(info.Env(), GetString(info, 4, kUsage));
    digests = out.Data();
    keep.push_back(out);
  }
  uint8_t* data = buffer.Data();
  return OnDisk(
      info, "hvr.vhdxReadRanges", handle,
      [ranges = std::move(ranges), data, digests, algorithm](Disk& d) {
        uint64_t at = 0;
        for (size_t i = 0; i < ranges.size(); ++i) {
          const auto [offset, length] = ranges[i];
          d.Read(offset, data + at, length);
          if (digests != nullptr) hash::DigestSlot(algorithm, data + at, length, digests + i * hash::kDigestSlot);
          at += length;
        }
      },
      std::move(keep));
}

// vhdxWrite(handle, offset, data) where data is one buffer or an array of buffers written back to back (a
// record's payload as it arrived in network chunks). The buffers go to the file as they are, in one gathered
// write per block: joining them first was a copy of every byte a replica server stages (perf: 40% of its
// pool threads' time), and no new JS buffer per record is made for the garbage collector to reclaim.
Napi::Value JsWrite(const Napi::CallbackInfo& info) {
  constexpr const char* kUsage = "Usage: vhdxWrite(handle, offset, buffer | buffers)";
  auto handle = GetHandle(info, 0);
  uint64_t offset = GetOffset(info, 1);
  if (info.Length() < 3) ThrowUsage(info.Env(), kUsage);
  BufferPieces data = ReadBufferPieces(info.Env(), info[2], true, kUsage);
  std::vector<Napi::Value> keep = std::move(data.keep);
  return OnDisk(
      info, "hvr.vhdxWrite", handle, [data = std::move(data), offset](Disk& d) { d.Write(offset, data.pieces.data(), data.pieces.size(), data.length); },
      std::move(keep));
}

// vhdxApplyChanges(handle, changes, payloads[, source, sourceOffsets]): `changes` is a Float64Array of triples
// [kind, offset, length] (kind 0 write, 1 zero, 2 trim, 3 copy) applied in order in one job on the pool, under the
// disk's lock; `payloads` holds each write's bytes in order (a buffer, or buffers back to back). A copy writes
// `length` bytes of the file at path `source`, from the next of `sourceOffsets` (a Float64Array, one per copy, in
// order), file to file (Disk::WriteFromFile: the bytes need not pass through this process); the source is opened
// read-only in the job. A log of many small records (a scattered delta: 655 of 4-256 KiB per 47 MiB) then costs
// one hand-off to the pool and back per batch instead of one per record, which under load waited longer than the
// writes themselves took. A range outside the disk refuses the whole list before anything is written; a failure
// while writing leaves the changes before it written and those after it not: callers re-apply the whole log
// (records are absolute, so that is harmless).
Napi::Value JsApplyChanges(const Napi::CallbackInfo& info) {
  constexpr const char* kUsage =
      "Usage: vhdxApplyChanges(handle, Float64Array [kind, offset, length]..., payloads[], source?, Float64Array sourceOffsets?)";
  auto handle = GetHandle(info, 0);
  auto isFloat64 = [&](size_t i) {
    return info.Length() > i && info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
  };
  if (!isFloat64(1) || info.Length() < 3 || !info[2].IsArray()) ThrowUsage(info.Env(), kUsage);
  Napi::Float64Array flat = info[1].As<Napi::Float64Array>();
  Napi::Array payloads = info[2].As<Napi::Array>();
  if (flat.ElementLength() % 3 != 0) ThrowUsage(info.Env(), kUsage);
  const bool has_source = info.Length() > 3 && !info[3].IsUndefined();
  std::string source_path;
  std::vector<uint64_t> source_offsets;
  auto whole = [&](double v) {
    if (!(v >= 0) || v > 9007199254740991.0 || std::floor(v) != v) ThrowUsage(info.Env(), "offsets and lengths must be safe non-negative integers");
    return uint64_t(v);
  };
  if (has_source) {
    source_path = GetString(info, 3, kUsage);
    if (!isFloat64(4)) ThrowUsage(info.Env(), kUsage);
    Napi::Float64Array offsets = info[4].As<Napi::Float64Array>();
    for (size_t i = 0; i < offsets.ElementLength(); ++i) source_offsets.push_back(whole(offsets[i]));
  }
  struct Change {
    uint8_t kind;
    uint64_t offset, length;
    size_t payload;  // kind 0: index into data; kind 3: index into source_offsets
  };
  std::vector<Change> changes;
  std::vector<BufferPieces> data;
  std::vector<Napi::Value> keep;
  size_t copies = 0;
  for (size_t i = 0; i < flat.ElementLength(); i += 3) {
    const double kind = flat[i];
    if (kind != 0 && kind != 1 && kind != 2 && kind != 3) ThrowUsage(info.Env(), kUsage);
    Change c{uint8_t(kind), whole(flat[i + 1]), whole(flat[i + 2]), kind == 3 ? copies : data.size()};
    if (c.kind == 0) {
      if (data.size() >= payloads.Length()) ThrowUsage(info.Env(), "vhdxApplyChanges: fewer payloads than writes");
      BufferPieces pieces = ReadBufferPieces(info.Env(), payloads.Get(uint32_t(data.size())), true, kUsage);
      if (pieces.length != c.length) ThrowUsage(info.Env(), "vhdxApplyChanges: a payload's length differs from its write's");
      for (Napi::Value& v : pieces.keep) keep.push_back(std::move(v));
      pieces.keep.clear();
      data.push_back(std::move(pieces));
    } else if (c.kind == 3) {
      if (copies >= source_offsets.size()) ThrowUsage(info.Env(), "vhdxApplyChanges: fewer source offsets than copies");
      if (c.length > 9007199254740991ull - source_offsets[copies]) ThrowUsage(info.Env(), "vhdxApplyChanges: a copy's source range ends beyond 2^53");
      ++copies;
    }
    changes.push_back(c);
  }
  if (data.size() != payloads.Length()) ThrowUsage(info.Env(), "vhdxApplyChanges: more payloads than writes");
  if (copies != source_offsets.size()) ThrowUsage(info.Env(), "vhdxApplyChanges: more source offsets than copies");
  return OnDisk(
      info, "hvr.vhdxApplyChanges", handle,
      [changes = std::move(changes), data = std::move(data), source_path = std::move(source_path),
       source_offsets = std::move(source_offsets)](Disk& d) {
        // Every range is checked before the first change is made: a list with one change outside the disk is
        // refused whole, not applied up to it (that is left for failures only the writes themselves meet).
        for (const Change& c : changes) d.CheckRange(c.kind == 1 ? "zero" : c.kind == 2 ? "trim" : "write", c.offset, c.length);
        std::unique_ptr<File> source = source_offsets.empty() ? nullptr : File::Open(source_path, OpenMode::kReadOnly);
        for (const Change& c : changes) {
          if (c.kind == 0) {
            d.Write(c.offset, data[c.payload].Gathered(), c.length);
          } else if (c.kind == 3) {
            d.WriteFromFile(c.offset, *source, source_offsets[c.payload], c.length);
          } else {
            d.Zero(c.offset, c.length, c.kind == 2);
          }
        }
      },
      std::move(keep));
}

Napi::Value JsZero(const Napi::CallbackInfo& info) {
  auto handle = GetHandle(info, 0);
  uint64_t offset = GetOffset(info, 1);
  uint64_t length = GetOffset(info, 2);
  bool trim = info.Length() > 3 && info[3].IsNumber() && info[3].As<Napi::Number>().Int32Value() == 1;
  return OnDisk(info, "hvr.vhdxZero", handle, [=](Disk& d) { d.Zero(offset, length, trim); });
}

Napi::Value JsFlush(const Napi::CallbackInfo& info) {
  return OnDisk(info, "hvr.vhdxFlush", GetHandle(info, 0), [](Disk& d) { d.Flush(); });
}

Napi::Value JsClose(const Napi::CallbackInfo& info) {
  auto handle = GetHandle(info, 0);
  return PromiseWorker<bool>::Run(
      info.Env(), "hvr.vhdxClose",
      [handle] {
        std::lock_guard<std::mutex> lock(handle->disk->mutex());
        handle->disk->Close();
        return true;
      },
      Undefined);
}

Napi::Value JsMap(const Napi::CallbackInfo& info) {
  auto handle = GetHandle(info, 0);
  bool layer_only = info.Length() > 1 && info[1].ToBoolean();
  uint64_t offset = GetOffset(info, 2);
  uint64_t length = GetOffset(info, 3);
  return PromiseWorker<std::vector<vhdx::Extent>>::Run(
      info.Env(), "hvr.vhdxMap",
      [=] {
        std::lock_guard<std::mutex> lock(handle->disk->mutex());
        if (handle->disk->closed()) throw NativeError(vhdx::codes::kClosed, "map: the VHDX disk is closed");
        return handle->disk->Map(layer_only, offset, length);
      },
      [](Napi::Env env, std::vector<vhdx::Extent>& extents) -> Napi::Value {
        Napi::Float64Array out = Napi::Float64Array::New(env, extents.size() * 3);
        for (size_t i = 0; i < extents.size(); ++i) {
          out[i * 3] = double(extents[i].offset);
          out[i * 3 + 1] = double(extents[i].length);
          out[i * 3 + 2] = double(static_cast<uint8_t>(extents[i].state));
        }
        return out;
      });
}

Napi::Value JsCreate(const Napi::CallbackInfo& info) {
  std::string path = GetString(info, 0, "Usage: vhdxCreate(path, options)");
  if (info.Length() < 2 || !info[1].IsObject()) ThrowUsage(info.Env(), "Usage: vhdxCreate(path, options)");
  Napi::Object o = info[1].As<Napi::Object>();
  vhdx::CreateParams p;
  std::string type = o.Get("type").ToString();
  p.type = type == "fixed" ? vhdx::DiskType::kFixed
                           : type == "differencing" ? vhdx::DiskType::kDifferencing : vhdx::DiskType::kDynamic;
  if (type != "fixed" && type != "dynamic" && type != "differencing") ThrowUsage(info.Env(), "type must be fixed, dynamic or differencing");
  p.virtual_size = uint64_t(o.Get("virtualSize").ToNumber().DoubleValue());
  p.block_size = o.Get("blockSize").ToNumber().Uint32Value();
  p.logical_sector_size = o.Get("logicalSectorSize").ToNumber().Uint32Value();
  p.physical_sector_size = o.Get("physicalSectorSize").ToNumber().Uint32Value();
  p.parent_path = o.Get("parentPath").ToString();
  return PromiseWorker<bool>::Run(
      info.Env(), "hvr.vhdxCreate",
      [path, p] {
        vhdx::CreateDisk(path, p);
        return true;
      },
      Undefined);
}

Napi::Value JsMerge(const Napi::CallbackInfo& info) {
  std::string path = GetString(info, 0, "Usage: vhdxMerge(childPath)");
  return PromiseWorker<bool>::Run(
      info.Env(), "hvr.vhdxMerge",
      [path] {
        vhdx::MergeDisk(path);
        return true;
      },
      Undefined);
}

Napi::Value JsReparent(const Napi::CallbackInfo& info) {
  std::string child = GetString(info, 0, "Usage: vhdxReparent(childPath, newParentPath)");
  std::string parent = GetString(info, 1, "Usage: vhdxReparent(childPath, newParentPath)");
  return PromiseWorker<bool>::Run(
      info.Env(), "hvr.vhdxReparent",
      [child, parent] {
        vhdx::ReparentDisk(child, parent);
        return true;
      },
      Undefined);
}

Napi::Value JsCheck(const Napi::CallbackInfo& info) {
  std::string path = GetString(info, 0, "Usage: vhdxCheck(path)");
  return PromiseWorker<vhdx::CheckFindings>::Run(
      info.Env(), "hvr.vhdxCheck", [path] { return vhdx::CheckFile(path); },
      [](Napi::Env env, vhdx::CheckFindings& f) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        Napi::Array errors = Napi::Array::New(env, f.errors.size());
        for (size_t i = 0; i < f.errors.size(); ++i) errors.Set(uint32_t(i), f.errors[i]);
        Napi::Array warnings = Napi::Array::New(env, f.warnings.size());
        for (size_t i = 0; i < f.warnings.size(); ++i) warnings.Set(uint32_t(i), f.warnings[i]);
        o.Set("errors", errors);
        o.Set("warnings", warnings);
        o.Set("allocatedBlocks", Napi::Number::New(env, double(f.allocated_blocks)));
        o.Set("sectorBitmapBlocks", Napi::Number::New(env, double(f.sector_bitmap_blocks)));
        return o;
      });
}

// vhdxHashBlocks(handle, algorithm, offset, length, blockSize) → Promise of the digest (algorithm 'blake3' or
// 'xxh128', 32-byte slots) of every blockSize block of the range (the last may be short). Reads and hashes in
// pieces that stay in the CPU's cache (instead of filling a window in memory and reading it back to hash it),
// the disk's lock held only while reading a piece, so two of these on one disk overlap one's reading with the
// other's hashing.
Napi::Value JsHashBlocks(const Napi::CallbackInfo& info) {
  auto handle = GetHandle(info, 0);
  const hash::BlockHash algorithm = BlockHashArgument(info.Env(), GetString(info, 1, "Usage: vhdxHashBlocks(handle, algorithm, offset, length, blockSize)"));
  const uint64_t offset = GetOffset(info, 2);
  const uint64_t length = GetOffset(info, 3);
  const uint64_t block_size = GetOffset(info, 4);
  if (block_size == 0 || offset % block_size != 0) ThrowUsage(info.Env(), "blockSize must be positive and the offset on a block boundary");
  return PromiseWorker<std::vector<uint8_t>>::Run(
      info.Env(), "hvr.vhdxHashBlocks",
      [handle, algorithm, offset, length, block_size] {
        constexpr uint64_t kPiece = 256 * 1024;
        const uint64_t piece = block_size >= kPiece ? block_size : kPiece / block_size * block_size;
        static thread_local std::vector<uint8_t> buffer;
        buffer.resize(piece);
        std::vector<uint8_t> digests((length + block_size - 1) / block_size * hash::kDigestSlot);
        for (uint64_t at = 0; at < length; at += piece) {
          const uint64_t n = std::min(piece, length - at);
          {
            std::lock_guard<std::mutex> lock(handle->disk->mutex());
            if (handle->disk->closed()) throw NativeError(vhdx::codes::kClosed, "hash: the VHDX disk is closed");
            handle->disk->Read(offset + at, buffer.data(), n);
          }
          hash::DigestSlots(algorithm, buffer.data(), n, block_size, digests.data() + at / block_size * hash::kDigestSlot);
        }
        return digests;
      },
      [](Napi::Env env, std::vector<uint8_t>& digests) -> Napi::Value {
        return Napi::Buffer<uint8_t>::Copy(env, digests.data(), digests.size());
      });
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("vhdxHashBlocks", Napi::Function::New(env, JsHashBlocks, "vhdxHashBlocks"));
  exports.Set("vhdxOpen", Napi::Function::New(env, JsOpen, "vhdxOpen"));
  exports.Set("vhdxInfo", Napi::Function::New(env, JsInfo, "vhdxInfo"));
  exports.Set("vhdxWritesUnbuffered", Napi::Function::New(env, JsWritesUnbuffered, "vhdxWritesUnbuffered"));
  exports.Set("vhdxRead", Napi::Function::New(env, JsRead, "vhdxRead"));
  exports.Set("vhdxReadRanges", Napi::Function::New(env, JsReadRanges, "vhdxReadRanges"));
  exports.Set("vhdxWrite", Napi::Function::New(env, JsWrite, "vhdxWrite"));
  exports.Set("vhdxZero", Napi::Function::New(env, JsZero, "vhdxZero"));
  exports.Set("vhdxApplyChanges", Napi::Function::New(env, JsApplyChanges, "vhdxApplyChanges"));
  exports.Set("vhdxFlush", Napi::Function::New(env, JsFlush, "vhdxFlush"));
  exports.Set("vhdxClose", Napi::Function::New(env, JsClose, "vhdxClose"));
  exports.Set("vhdxMap", Napi::Function::New(env, JsMap, "vhdxMap"));
  exports.Set("vhdxCreate", Napi::Function::New(env, JsCreate, "vhdxCreate"));
  exports.Set("vhdxMerge", Napi::Function::New(env, JsMerge, "vhdxMerge"));
  exports.Set("vhdxReparent", Napi::Function::New(env, JsReparent, "vhdxReparent"));
  exports.Set("vhdxCheck", Napi::Function::New(env, JsCheck, "vhdxCheck"));
}
BindingRegistrar registrar(Register);

}  // namespace
}  // namespace hvr::binding
