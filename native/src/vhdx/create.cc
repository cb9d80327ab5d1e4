#include "vhdx/create.h"

#include <cstring>
#include <vector>

#include "core/file.h"
#include "vhdx/disk.h"
#include "vhdx/errors.h"
#include "vhdx/format.h"
#include "vhdx/paths.h"
#include "vhdx/structures.h"

namespace hvr::vhdx {
namespace {

constexpr uint64_t kLogOffset = 1 * kMiB;
constexpr uint32_t kLogLength = 1 * kMiB;
constexpr uint64_t kMetadataOffset = 2 * kMiB;
constexpr uint32_t kMetadataLength = 1 * kMiB;
constexpr uint64_t kBatOffset = 3 * kMiB;
constexpr const char* kCreator = "hvreplica 0.1.0";

void Validate(const CreateParams& p) {
  if (!IsPowerOfTwo(p.block_size) || p.block_size < kMinBlockSize || p.block_size > kMaxBlockSize) {
    ThrowInvalid("block size " + std::to_string(p.block_size) + " must be a power of two from 1 MiB to 256 MiB");
  }
  if (p.type == DiskType::kDifferencing) return;
  if (p.logical_sector_size != 512 && p.logical_sector_size != 4096) ThrowInvalid("logical sector size must be 512 or 4096");
  if (p.physical_sector_size != 512 && p.physical_sector_size != 4096) ThrowInvalid("physical sector size must be 512 or 4096");
  if (p.virtual_size == 0 || p.virtual_size > kMaxVirtualSize || p.virtual_size % p.logical_sector_size != 0) {
    ThrowInvalid("virtual size " + std::to_string(p.virtual_size) +
                 " must be a positive multiple of the logical sector size, at most 64 TiB");
  }
}

struct Item {
  Guid id;
  uint32_t flags;
  std::vector<uint8_t> value;
};

std::vector<uint8_t> MetadataRegion(const std::vector<Item>& items) {
  std::vector<uint8_t> region(kMetadataLength, 0);
  std::memcpy(region.data(), "metadata", 8);
  Put16(region.data() + 10, uint16_t(items.size()));
  uint32_t at = uint32_t(kMetadataTableSize);
  for (size_t i = 0; i < items.size(); ++i) {
    uint8_t* e = region.data() + 32 + i * 32;
    items[i].id.Store(e);
    Put32(e + 16, at);
    Put32(e + 20, uint32_t(items[i].value.size()));
    Put32(e + 24, items[i].flags);
    std::memcpy(region.data() + at, items[i].value.data(), items[i].value.size());
    at += uint32_t(items[i].value.size());
  }
  return region;
}

std::vector<uint8_t> U32(uint32_t v) {
  std::vector<uint8_t> out(4);
  Put32(out.data(), v);
  return out;
}

std::vector<uint8_t> U64(uint64_t v) {
  std::vector<uint8_t> out(8);
  Put64(out.data(), v);
  return out;
}

}  // namespace

void CreateDisk(const std::string& path, const CreateParams& in) {
  CreateParams p = in;
  Validate(p);
  Guid disk_id = Guid::Random();
  ParentLocator locator;
  if (p.type == DiskType::kDifferencing) {
    if (p.parent_path.empty()) ThrowInvalid("a differencing disk needs a parent path");
    // Opening the whole chain proves the parent is usable before anything is written.
    std::unique_ptr<Disk> parent = Disk::Open(p.parent_path, false);
    Layer& top = parent->top();
    p.virtual_size = top.virtual_size();
    p.logical_sector_size = top.logical_sector_size();
    p.physical_sector_size = top.physical_sector_size();
    disk_id = top.disk_id();
    locator.type = VhdxParentLocatorTypeGuid();
    locator.entries.emplace_back("parent_linkage", top.header().data_write_guid.ToString());
    locator.entries.emplace_back("parent_linkage2", Guid().ToString());
    std::string relative = RelativeWindowsPath(DirName(path), p.parent_path);
    if (!relative.empty()) locator.entries.emplace_back("relative_path", relative);
    locator.entries.emplace_back("absolute_win32_path", p.parent_path);
  }
  const uint64_t cr = (kSectorsPerChunk * p.logical_sector_size) / p.block_size;
  const uint64_t blocks = (p.virtual_size + p.block_size - 1) / p.block_size;
  const uint64_t chunks = (blocks + cr - 1) / cr;
  const uint64_t bat_entries = chunks * (cr + 1);
  const uint64_t bat_length = AlignUp(bat_entries * 8, kMiB);
  if (bat_length > 0xFFFFFFFFull) ThrowInvalid("the disk is too large for this block size; use a larger block size");
  const uint64_t data_start = kBatOffset + bat_length;
  const bool fixed = p.type == DiskType::kFixed;

  std::vector<uint8_t> bat(size_t(AlignUp(bat_entries * 8, 4096)), 0);
  uint64_t file_size = data_start;
  if (fixed) {
    for (uint64_t b = 0; b < blocks; ++b) {
      Put64(bat.data() + (b + b / cr) * 8, ((data_start + b * p.block_size) / kMiB) << 20 | kPayloadFullyPresent);
    }
    file_size = data_start + blocks * p.block_size;
  }

  std::vector<Item> items;
  uint32_t params_flags = (fixed ? 1u : 0u) | (p.type == DiskType::kDifferencing ? 2u : 0u);
  std::vector<uint8_t> params = U32(p.block_size);
  std::vector<uint8_t> params_flag_bytes = U32(params_flags);
  params.insert(params.end(), params_flag_bytes.begin(), params_flag_bytes.end());
  items.push_back({FileParametersGuid(), kMetaIsRequired, params});
  items.push_back({VirtualDiskSizeGuid(), kMetaIsVirtualDisk | kMetaIsRequired, U64(p.virtual_size)});
  items.push_back({LogicalSectorSizeGuid(), kMetaIsVirtualDisk | kMetaIsRequired, U32(p.logical_sector_size)});
  items.push_back({PhysicalSectorSizeGuid(), kMetaIsVirtualDisk | kMetaIsRequired, U32(p.physical_sector_size)});
  std::vector<uint8_t> id(16);
  disk_id.Store(id.data());
  items.push_back({Page83Guid(), kMetaIsVirtualDisk | kMetaIsRequired, id});
  if (p.type == DiskType::kDifferencing) items.push_back({ParentLocatorGuid(), kMetaIsRequired, SerializeLocator(locator)});

  std::unique_ptr<File> file = File::Open(path, OpenMode::kCreateNew);
  file->Resize(file_size);
  std::vector<uint8_t> ident(64 * kKiB, 0);
  std::memcpy(ident.data(), "vhdxfile", 8);
  std::string creator = Utf8ToUtf16Le(kCreator);
  std::memcpy(ident.data() + 8, creator.data(), creator.size());
  file->WriteAt(0, ident.data(), ident.size());
  std::vector<RegionEntry> regions = {{BatRegionGuid(), kBatOffset, uint32_t(bat_length), true},
                                      {MetadataRegionGuid(), kMetadataOffset, kMetadataLength, true}};
  std::vector<uint8_t> table = SerializeRegionTable(regions);
  file->WriteAt(kRegionTable1Offset, table.data(), table.size());
  file->WriteAt(kRegionTable2Offset, table.data(), table.size());
  std::vector<uint8_t> metadata = MetadataRegion(items);
  file->WriteAt(kMetadataOffset, metadata.data(), metadata.size());
  file->WriteAt(kBatOffset, bat.data(), bat.size());
  file->Flush();
  // Headers last: until they exist the file is not a VHDX, so a crash never leaves a half-made disk
  // that opens.
  Header h;
  h.file_write_guid = Guid::Random();
  h.data_write_guid = Guid::Random();
  h.log_length = kLogLength;
  h.log_offset = kLogOffset;
  for (int slot = 0; slot < 2; ++slot) {
    h.sequence = uint64_t(slot) + 1;
    std::vector<uint8_t> bytes = SerializeHeader(h);
    file->WriteAt(slot == 0 ? kHeader1Offset : kHeader2Offset, bytes.data(), bytes.size());
  }
  file->Flush();
}

}  // namespace hvr::vhdx
