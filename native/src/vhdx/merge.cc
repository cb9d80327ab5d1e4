#include "vhdx/merge.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "vhdx/disk.h"
#include "vhdx/errors.h"
#include "vhdx/format.h"

namespace hvr::vhdx {
namespace {

constexpr uint64_t kCopyChunk = 4 * kMiB;

}  // namespace

void MergeDisk(const std::string& child_path) {
  std::string parent_path;
  Guid target;
  {
    // Validates the whole chain (linkage or linkage2) before anything changes.
    std::unique_ptr<Disk> chain = Disk::Open(child_path, false);
    if (chain->depth() < 2) ThrowInvalid("'" + child_path + "' is not a differencing disk; there is nothing to merge");
    parent_path = chain->layer(1).path();
    Guid linkage2;
    if (const std::string* l2 = chain->top().parent_locator().Find("parent_linkage2")) Guid::Parse(*l2, &linkage2);
    target = !linkage2.IsZero() ? linkage2 : Guid::Random();
    if (linkage2.IsZero()) {
      chain.reset();
      std::unique_ptr<Layer> child = Layer::Open(child_path, true);
      child->SetParentLinkage(target, false);
      child->CloseSession();
    }
  }
  std::unique_ptr<Layer> child = Layer::Open(child_path, false);
  std::unique_ptr<Disk> parent = Disk::Open(parent_path, true);
  parent->top().ForceNextDataWriteGuid(target);
  std::vector<uint8_t> buffer;
  uint64_t offset = 0;
  const uint64_t size = child->virtual_size();
  while (offset < size) {
    Layer::Run run = child->Lookup(offset, std::min(size - offset, kCopyChunk));
    if (run.kind == Layer::RunKind::kData) {
      buffer.resize(size_t(run.length));
      child->ReadFile(run.file_offset, buffer.data(), buffer.size());
      parent->Write(offset, buffer.data(), run.length);
    } else if (run.kind == Layer::RunKind::kZero) {
      parent->Zero(offset, run.length, false);
    }
    offset += run.length;
  }
  parent->Flush();
  parent->Close();
  parent.reset();
  Guid merged = Layer::Open(parent_path, false)->header().data_write_guid;
  child.reset();
  std::unique_ptr<Layer> relink = Layer::Open(child_path, true);
  relink->SetParentLinkage(merged, true);
  relink->CloseSession();
}

}  // namespace hvr::vhdx
