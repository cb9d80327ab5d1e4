#include "vhdx/structures.h"

#include <cstring>

#include "vhdx/crc32c.h"
#include "vhdx/format.h"

namespace hvr::vhdx {

std::vector<uint8_t> SerializeHeader(const Header& h) {
  std::vector<uint8_t> out(kHeaderSize, 0);
  uint8_t* p = out.data();
  std::memcpy(p, "head", 4);
  Put64(p + 8, h.sequence);
  h.file_write_guid.Store(p + 16);
  h.data_write_guid.Store(p + 32);
  h.log_guid.Store(p + 48);
  Put16(p + 64, h.log_version);
  Put16(p + 66, h.version);
  Put32(p + 68, h.log_length);
  Put64(p + 72, h.log_offset);
  Put32(p + 4, Crc32c(p, kHeaderSize));
  return out;
}

std::vector<uint8_t> SerializeRegionTable(const std::vector<RegionEntry>& entries) {
  std::vector<uint8_t> out(kRegionTableSize, 0);
  uint8_t* p = out.data();
  std::memcpy(p, "regi", 4);
  Put32(p + 8, uint32_t(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    uint8_t* e = p + 16 + i * 32;
    entries[i].id.Store(e);
    Put64(e + 16, entries[i].offset);
    Put32(e + 24, entries[i].length);
    Put32(e + 28, entries[i].required ? 1 : 0);
  }
  Put32(p + 4, Crc32c(p, kRegionTableSize));
  return out;
}

std::vector<uint8_t> SerializeLocator(const ParentLocator& locator) {
  size_t count = locator.entries.size();
  std::vector<uint8_t> out(20 + 12 * count, 0);
  locator.type.Store(out.data());
  Put16(out.data() + 18, uint16_t(count));
  for (size_t i = 0; i < count; ++i) {
    std::string key = Utf8ToUtf16Le(locator.entries[i].first);
    std::string value = Utf8ToUtf16Le(locator.entries[i].second);
    uint8_t* e = out.data() + 20 + 12 * i;
    Put32(e, uint32_t(out.size()));
    Put16(e + 8, uint16_t(key.size()));
    out.insert(out.end(), key.begin(), key.end());
    e = out.data() + 20 + 12 * i;  // insert may have moved the buffer
    Put32(e + 4, uint32_t(out.size()));
    Put16(e + 10, uint16_t(value.size()));
    out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

}  // namespace hvr::vhdx
