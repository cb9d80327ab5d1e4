#include "vhdx/disk.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "vhdx/errors.h"
#include "vhdx/format.h"
#include "vhdx/paths.h"

namespace hvr::vhdx {
namespace {

constexpr size_t kMaxChainDepth = 128;

void Append(std::vector<Extent>* out, uint64_t offset, uint64_t length, ExtentState state) {
  if (!out->empty() && out->back().state == state && out->back().offset + out->back().length == offset) {
    out->back().length += length;
  } else {
    out->push_back({offset, length, state});
  }
}

const std::vector<uint8_t>& ZeroBuffer() {
  static const std::vector<uint8_t> zeros(kMiB, 0);
  return zeros;
}

}  // namespace

std::unique_ptr<Layer> OpenParent(Layer& child, std::string* resolved_path) {
  const ParentLocator& loc = child.parent_locator();
  Guid linkage, linkage2;
  if (!Guid::Parse(*loc.Find("parent_linkage"), &linkage)) {
    ThrowCorrupt(child.path(), "parent_linkage '" + *loc.Find("parent_linkage") + "' is not a GUID");
  }
  if (const std::string* l2 = loc.Find("parent_linkage2")) Guid::Parse(*l2, &linkage2);
  const std::string dir = DirName(child.path());
  std::vector<std::string> candidates;
  std::vector<std::string> names;
  if (const std::string* rel = loc.Find("relative_path")) {
    candidates.push_back(JoinPath(dir, *rel));
    names.push_back(*rel);
  }
  for (const char* key : {"volume_path", "absolute_win32_path"}) {
    const std::string* p = loc.Find(key);
    if (!p) continue;
    names.push_back(*p);
#ifdef _WIN32
    candidates.push_back(*p);
#else
    if (!p->empty() && (*p)[0] == '/') candidates.push_back(*p);
#endif
  }
  // Off the host that made the chain the stored paths are useless; Hyper-V keeps parents beside children.
  for (const std::string& n : names) candidates.push_back(JoinPath(dir, BaseName(n)));
  std::string mismatch;
  std::set<std::string> tried;
  for (const std::string& candidate : candidates) {
    if (!tried.insert(candidate).second || !File::Exists(candidate)) continue;
    std::unique_ptr<Layer> parent = Layer::Open(candidate, false);
    const Guid& dwg = parent->header().data_write_guid;
    if (dwg == linkage || (!linkage2.IsZero() && dwg == linkage2)) {
      *resolved_path = candidate;
      return parent;
    }
    mismatch = candidate + " has DataWriteGuid " + dwg.ToString();
  }
  if (!mismatch.empty()) {
    throw NativeError(codes::kParentMismatch,
                      "the parent of '" + child.path() + "' was modified after the child was made: the child expects " +
                          linkage.ToString() + " but " + mismatch +
                          ". The chain is broken; restore the parent that belongs to this child");
  }
  std::string listed;
  for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + ("'" + n + "'");
  throw NativeError(codes::kParentNotFound, "the parent of differencing disk '" + child.path() +
                                                "' was not found (locator paths: " + (listed.empty() ? "none" : listed) +
                                                "). Put the parent file beside the child or at its relative path");
}

Disk::~Disk() {
  try {
    Close();
  } catch (...) {
    // Destructors must not throw; an explicit close reports the error.
  }
}

std::unique_ptr<Disk> Disk::Open(const std::string& path, bool writable, bool with_parents, WriteCaching caching) {
  std::unique_ptr<Disk> disk(new Disk());
  disk->layers_.push_back(Layer::Open(path, writable, nullptr, caching));
  if (!with_parents) return disk;
  std::set<std::string> seen_paths{NormalizePath(path)};
  std::set<std::string> seen_ids{disk->layers_.back()->header().file_write_guid.ToString()};
  while (disk->layers_.back()->has_parent()) {
    Layer& child = *disk->layers_.back();
    if (disk->layers_.size() >= kMaxChainDepth) {
      throw NativeError(codes::kParentLoop, "the differencing chain of '" + path + "' is deeper than " +
                                                std::to_string(kMaxChainDepth) + " layers; it probably loops");
    }
    std::string parent_path;
    std::unique_ptr<Layer> parent = OpenParent(child, &parent_path);
    if (!seen_paths.insert(NormalizePath(parent_path)).second ||
        !seen_ids.insert(parent->header().file_write_guid.ToString()).second) {
      throw NativeError(codes::kParentLoop, "the differencing chain of '" + path + "' loops back to '" + parent_path +
                                                "'. Repair the parent locators");
    }
    if (parent->logical_sector_size() != child.logical_sector_size() || parent->virtual_size() != child.virtual_size()) {
      throw NativeError(codes::kParentMismatch, "the parent '" + parent_path + "' of '" + child.path() +
                                                    "' has a different virtual size or logical sector size");
    }
    disk->layers_.push_back(std::move(parent));
  }
  return disk;
}

void Disk::CheckRange(const char* what, uint64_t offset, uint64_t length) const {
  if (layers_.empty()) throw NativeError(codes::kClosed, std::string(what) + ": the disk is closed");
  uint64_t size = layers_.front()->virtual_size();
  if (offset > size || length > size - offset) {
    ThrowInvalid(std::string(what) + ": range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                 ") is outside the virtual disk of " + std::to_string(size) + " bytes");
  }
}

void Disk::Read(uint64_t offset, void* buffer, uint64_t length) {
  CheckRange("read", offset, length);
  ReadLevel(0, offset, static_cast<uint8_t*>(buffer), length);
}

void Disk::ReadFromLevel(size_t level, uint64_t offset, void* buffer, uint64_t length) {
  CheckRange("read", offset, length);
  if (level >= layers_.size()) ThrowInvalid("read: the chain has no level " + std::to_string(level));
  ReadLevel(level, offset, static_cast<uint8_t*>(buffer), length);
}

void Disk::ReadLevel(size_t level, uint64_t offset, uint8_t* out, uint64_t length) {
  Layer& layer = *layers_[level];
  uint64_t pending_file = 0, pending_len = 0;
  uint8_t* pending_out = nullptr;
  auto drain = [&] {
    if (pending_len) layer.ReadFile(pending_file, pending_out, size_t(pending_len));
    pending_len = 0;
  };
  while (length > 0) {
    Layer::Run run = layer.Lookup(offset, length);
    if (run.kind == Layer::RunKind::kData) {
      // Adjacent blocks are usually adjacent in the file too: one large read instead of one per block.
      if (pending_len && pending_file + pending_len == run.file_offset && pending_out + pending_len == out &&
          pending_len < 256 * kMiB) {
        pending_len += run.length;
      } else {
        drain();
        pending_file = run.file_offset;
        pending_out = out;
        pending_len = run.length;
      }
    } else if (run.kind == Layer::RunKind::kParent && level + 1 < layers_.size()) {
      ReadLevel(level + 1, offset, out, run.length);
    } else if (run.kind == Layer::RunKind::kParent && layer.has_parent()) {
      throw NativeError(codes::kParentNotFound, "reading offset " + std::to_string(offset) + " of '" + layer.path() +
                                                    "' needs its parent, but the disk was opened without parents");
    } else {
      std::memset(out, 0, size_t(run.length));
    }
    offset += run.length;
    out += run.length;
    length -= run.length;
  }
  drain();
}

void Disk::Write(uint64_t offset, const void* buffer, uint64_t length) {
  CheckRange("write", offset, length);
  if (length == 0) return;
  const auto* data = static_cast<const uint8_t*>(buffer);
  const uint64_t lss = top().logical_sector_size();
  if (offset % lss == 0 && length % lss == 0) {
    const ByteRun run{data, size_t(length)};
    WriteAligned(offset, &run, 1, length);
    return;
  }
  // Partial sectors: merge with what the chain shows, so the layer only ever stores whole sectors.
  uint64_t begin = offset / lss * lss;
  uint64_t end = AlignUp(offset + length, lss);
  std::vector<uint8_t> merged(size_t(end - begin));
  Read(begin, merged.data(), lss);
  if (end - lss > begin) Read(end - lss, merged.data() + (end - lss - begin), lss);
  std::memcpy(merged.data() + (offset - begin), data, size_t(length));
  const ByteRun run{merged.data(), merged.size()};
  WriteAligned(begin, &run, 1, end - begin);
}

void Disk::Write(uint64_t offset, const ByteRun* runs, size_t count, uint64_t length) {
  CheckRange("write", offset, length);
  if (length == 0) return;
  const uint64_t lss = top().logical_sector_size();
  if (count == 1 || offset % lss != 0 || length % lss != 0) {
    // One buffer, or partial sectors (merged with the chain's bytes, which needs them in one buffer anyway).
    if (count == 1) return Write(offset, runs[0].data, length);
    std::vector<uint8_t> joined(static_cast<size_t>(length));
    size_t at = 0;
    for (size_t i = 0; i < count; ++i) {
      if (runs[i].size > 0) std::memcpy(joined.data() + at, runs[i].data, runs[i].size);
      at += runs[i].size;
    }
    return Write(offset, joined.data(), length);
  }
  WriteAligned(offset, runs, count, length);
}

void Disk::WriteAligned(uint64_t offset, const ByteRun* runs, size_t count, uint64_t length) {
  Layer& layer = top();
  GatheredBytes bytes(runs, count);
  std::vector<ByteRun> slice;
  while (length > 0) {
    uint64_t n = std::min<uint64_t>(length, layer.block_size() - offset % layer.block_size());
    bytes.Take(n, &slice);
    layer.WriteInBlock(offset, slice.data(), slice.size(), n);
    offset += n;
    length -= n;
  }
}

void Disk::WriteFromFile(uint64_t offset, File& source, uint64_t source_offset, uint64_t length) {
  CheckRange("write", offset, length);
  if (length == 0) return;
  const uint64_t lss = top().logical_sector_size();
  if (offset % lss != 0 || length % lss != 0) {
    std::vector<uint8_t> bytes(static_cast<size_t>(length));
    source.ReadAt(source_offset, bytes.data(), bytes.size());
    return Write(offset, bytes.data(), length);
  }
  Layer& layer = top();
  while (length > 0) {
    uint64_t n = std::min<uint64_t>(length, layer.block_size() - offset % layer.block_size());
    layer.CopyInBlock(offset, source, source_offset, n);
    offset += n;
    source_offset += n;
    length -= n;
  }
}

void Disk::Zero(uint64_t offset, uint64_t length, bool trim) {
  CheckRange(trim ? "trim" : "zero", offset, length);
  Layer& layer = top();
  if (!layer.writable()) {
    throw NativeError(codes::kReadOnly, "'" + layer.path() + "' is open read-only; open it with writable: true to change it");
  }
  const uint64_t bs = layer.block_size();
  while (length > 0) {
    uint64_t in_block = offset % bs;
    uint64_t n = std::min<uint64_t>(length, bs - in_block);
    uint64_t block = offset / bs;
    bool whole = in_block == 0 && (n == bs || offset + n == layer.virtual_size());
    uint8_t state = layer.BlockState(block);
    bool reads_zero_here = state == kPayloadZero || state == kPayloadUnmapped || state == kPayloadUnmappedDraft ||
                           state == kPayloadUndefined || (state == kPayloadNotPresent && !layer.has_parent());
    if (whole && layer.type() != DiskType::kFixed) {
      if (!reads_zero_here || state == kPayloadNotPresent) layer.ZeroBlock(block, trim);
    } else if (!reads_zero_here) {
      for (uint64_t done = 0; done < n;) {
        uint64_t chunk = std::min<uint64_t>(n - done, ZeroBuffer().size());
        Write(offset + done, ZeroBuffer().data(), chunk);
        done += chunk;
      }
    }
    offset += n;
    length -= n;
  }
}

void Disk::Flush() {
  if (layers_.empty()) throw NativeError(codes::kClosed, "flush: the disk is closed");
  top().Commit();
}

std::vector<Extent> Disk::Map(bool layer_only, uint64_t offset, uint64_t length) {
  CheckRange("map", offset, length);
  std::vector<Extent> out;
  MapLevel(0, layer_only, offset, length, &out);
  return out;
}

void Disk::MapLevel(size_t level, bool layer_only, uint64_t offset, uint64_t length, std::vector<Extent>* out) {
  Layer& layer = *layers_[level];
  while (length > 0) {
    Layer::Run run = layer.Lookup(offset, length);
    if (run.kind == Layer::RunKind::kData) {
      Append(out, offset, run.length, ExtentState::kData);
    } else if (run.kind == Layer::RunKind::kZero) {
      Append(out, offset, run.length, ExtentState::kZero);
    } else if (!layer_only && level + 1 < layers_.size()) {
      MapLevel(level + 1, false, offset, run.length, out);
    } else {
      Append(out, offset, run.length, ExtentState::kAbsent);
    }
    offset += run.length;
    length -= run.length;
  }
}

void Disk::Close() {
  if (layers_.empty()) return;
  if (layers_.front()->writable()) layers_.front()->CloseSession();
  layers_.clear();
}

}  // namespace hvr::vhdx
