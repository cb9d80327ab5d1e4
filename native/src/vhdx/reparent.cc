#include "vhdx/reparent.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "vhdx/disk.h"
#include "vhdx/errors.h"
#include "vhdx/format.h"
#include "vhdx/paths.h"

namespace hvr::vhdx {
namespace {

constexpr uint64_t kCompareChunk = 4 * kMiB;
constexpr size_t kNone = std::numeric_limits<size_t>::max();

using Spans = std::vector<std::pair<uint64_t, uint64_t>>;

// Every range where `layer` decides what its chain shows (its data and its zeroes); elsewhere the
// layer below shows through.
void AddLayerSpans(Layer& layer, Spans* out) {
  const uint64_t size = layer.virtual_size();
  uint64_t offset = 0;
  while (offset < size) {
    Layer::Run run = layer.Lookup(offset, size - offset);
    if (run.kind != Layer::RunKind::kParent) {
      if (!out->empty() && out->back().second == offset) {
        out->back().second += run.length;
      } else {
        out->emplace_back(offset, offset + run.length);
      }
    }
    offset += run.length;
  }
}

Spans Union(Spans spans) {
  std::sort(spans.begin(), spans.end());
  Spans out;
  for (const auto& s : spans) {
    if (!out.empty() && s.first <= out.back().second) {
      out.back().second = std::max(out.back().second, s.second);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

[[noreturn]] void ThrowMismatch(const std::string& child, const std::string& target, const std::string& why) {
  throw NativeError(codes::kParentMismatch,
                    "cannot re-parent '" + child + "' onto '" + target + "': " + why +
                        ". Re-parenting is only allowed onto a file with the same content as the current parent "
                        "(e.g. the file the parent was merged into, after the merge finished); run the merge to "
                        "completion ('hvreplica disk merge') or pick that file");
}

// Proves that `target` (the new parent's chain) reads exactly like `current` does from level 1 (the
// child's present parent). Layers below a common base (same DataWriteGuid, so the same content) agree
// by definition; only the ranges some layer above it decides are read and compared.
void ProveSameContent(Disk& current, Disk& target, const std::string& child_path, const std::string& target_path) {
  size_t ci = kNone, ti = kNone;
  for (size_t i = 1; i < current.depth() && ci == kNone; ++i) {
    for (size_t j = 0; j < target.depth(); ++j) {
      if (current.layer(i).header().data_write_guid == target.layer(j).header().data_write_guid) {
        ci = i;
        ti = j;
        break;
      }
    }
  }
  const uint64_t size = target.top().virtual_size();
  Spans spans;
  if (ci == kNone) {
    spans.emplace_back(0, size);  // no shared base: nothing is known to agree, compare everything
  } else {
    for (size_t i = 1; i < ci; ++i) AddLayerSpans(current.layer(i), &spans);
    for (size_t j = 0; j < ti; ++j) AddLayerSpans(target.layer(j), &spans);
    spans = Union(std::move(spans));
  }
  std::vector<uint8_t> a(kCompareChunk), b(kCompareChunk);
  for (const auto& span : spans) {
    for (uint64_t at = span.first; at < span.second; at += kCompareChunk) {
      uint64_t n = std::min(kCompareChunk, span.second - at);
      current.ReadFromLevel(1, at, a.data(), n);
      target.Read(at, b.data(), n);
      if (std::memcmp(a.data(), b.data(), size_t(n)) == 0) continue;
      uint64_t k = 0;
      while (a[size_t(k)] == b[size_t(k)]) ++k;
      ThrowMismatch(child_path, target_path,
                    "it reads differently from the current parent '" + current.layer(1).path() + "' at virtual byte " +
                        std::to_string(at + k));
    }
  }
}

}  // namespace

void ReparentDisk(const std::string& child_path, const std::string& new_parent_path) {
  Guid linkage, linkage2, child_file_id;
  {
    std::unique_ptr<Layer> child = Layer::Open(child_path, false);
    if (!child->has_parent()) {
      ThrowInvalid("'" + child_path + "' is not a differencing disk; only a differencing disk has a parent to change");
    }
    const ParentLocator& loc = child->parent_locator();
    if (!Guid::Parse(*loc.Find("parent_linkage"), &linkage)) {
      ThrowCorrupt(child_path, "parent_linkage '" + *loc.Find("parent_linkage") + "' is not a GUID");
    }
    if (const std::string* l2 = loc.Find("parent_linkage2")) Guid::Parse(*l2, &linkage2);
    child_file_id = child->header().file_write_guid;
  }
  Guid new_linkage;
  {
    // The whole new chain must open: a child may only point at a parent that is itself usable.
    std::unique_ptr<Disk> target = Disk::Open(new_parent_path, false);
    Layer& parent = target->top();
    for (size_t j = 0; j < target->depth(); ++j) {
      if (NormalizePath(target->layer(j).path()) == NormalizePath(child_path) ||
          target->layer(j).header().file_write_guid == child_file_id) {
        throw NativeError(codes::kParentLoop, "cannot re-parent '" + child_path + "' onto '" + new_parent_path +
                                                  "': that chain contains the child itself, so it would loop");
      }
    }
    std::unique_ptr<Layer> child = Layer::Open(child_path, false);
    if (parent.virtual_size() != child->virtual_size() || parent.logical_sector_size() != child->logical_sector_size()) {
      ThrowMismatch(child_path, new_parent_path, "its virtual size or logical sector size differs from the child's");
    }
    if (parent.disk_id() != child->disk_id()) {
      ThrowMismatch(child_path, new_parent_path,
                    "it is another virtual disk (Virtual Disk ID " + parent.disk_id().ToString() + ", the child's is " +
                        child->disk_id().ToString() + ")");
    }
    child.reset();
    new_linkage = parent.header().data_write_guid;
    // The linkage GUID names content: a parent carrying it shows what the child was made over.
    bool same = new_linkage == linkage || (!linkage2.IsZero() && new_linkage == linkage2);
    if (!same) {
      std::unique_ptr<Disk> current = Disk::Open(child_path, false);
      ProveSameContent(*current, *target, child_path, new_parent_path);
    }
  }
  std::unique_ptr<Layer> child = Layer::Open(child_path, true);
  child->SetParentLocation(new_linkage, RelativeWindowsPath(DirName(child_path), new_parent_path), new_parent_path);
  child->CloseSession();
  child.reset();
  // The locator must now resolve to the new parent; anything else would be a bug worth stopping on.
  std::unique_ptr<Disk> check = Disk::Open(child_path, false);
  if (check->depth() < 2 || NormalizePath(check->layer(1).path()) != NormalizePath(new_parent_path)) {
    ThrowCorrupt(child_path, "after re-parenting, its locator resolves to '" +
                                 (check->depth() < 2 ? std::string("nothing") : check->layer(1).path()) + "' instead of '" +
                                 new_parent_path + "'");
  }
}

}  // namespace hvr::vhdx
