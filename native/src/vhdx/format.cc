#include "vhdx/format.h"

namespace hvr::vhdx {
namespace {

Guid Known(const char* text) {
  Guid g;
  Guid::Parse(text, &g);
  return g;
}

}  // namespace

Guid BatRegionGuid() { return Known("2DC27766-F623-4200-9D64-115E9BFD4A08"); }
Guid MetadataRegionGuid() { return Known("8B7CA206-4790-4B9A-B8FE-575F050F886E"); }
Guid FileParametersGuid() { return Known("CAA16737-FA36-4D43-B3B6-33F0AA44E76B"); }
Guid VirtualDiskSizeGuid() { return Known("2FA54224-CD1B-4876-B211-5DBED83BF4B8"); }
Guid Page83Guid() { return Known("BECA12AB-B2E6-4523-93EF-C309E000C746"); }
Guid LogicalSectorSizeGuid() { return Known("8141BF1D-A96F-4709-BA47-F233A8FAAB5F"); }
Guid PhysicalSectorSizeGuid() { return Known("CDA348C7-445D-4471-9CC9-E9885251C556"); }
Guid ParentLocatorGuid() { return Known("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"); }
Guid VhdxParentLocatorTypeGuid() { return Known("B04AEFB7-D19E-4A81-B789-25B8E9445913"); }
Guid IncompleteFileGuid() { return Known("71cc85f0-1b69-4e28-9558-c3bf83ae75d3"); }

std::string Utf16LeToUtf8(const uint8_t* p, size_t bytes) {
  std::string out;
  size_t n = bytes / 2;
  for (size_t i = 0; i < n; ++i) {
    uint32_t c = Le16(p + 2 * i);
    if (c == 0) break;
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
      uint32_t lo = Le16(p + 2 * (i + 1));
      if (lo >= 0xDC00 && lo < 0xE000) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        ++i;
      }
    }
    if (c >= 0xD800 && c < 0xE000) c = 0xFFFD;
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string Utf8ToUtf16Le(const std::string& text) {
  std::string out;
  auto put = [&out](uint32_t unit) {
    out += static_cast<char>(unit & 0xFF);
    out += static_cast<char>(unit >> 8);
  };
  for (size_t i = 0; i < text.size();) {
    auto b = static_cast<uint8_t>(text[i]);
    uint32_t c;
    size_t extra;
    if (b < 0x80) {
      c = b;
      extra = 0;
    } else if ((b & 0xE0) == 0xC0) {
      c = b & 0x1F;
      extra = 1;
    } else if ((b & 0xF0) == 0xE0) {
      c = b & 0x0F;
      extra = 2;
    } else {
      c = b & 0x07;
      extra = 3;
    }
    ++i;
    for (size_t k = 0; k < extra && i < text.size(); ++k, ++i) c = (c << 6) | (static_cast<uint8_t>(text[i]) & 0x3F);
    if (c >= 0x10000) {
      c -= 0x10000;
      put(0xD800 + (c >> 10));
      put(0xDC00 + (c & 0x3FF));
    } else {
      put(c);
    }
  }
  return out;
}

}  // namespace hvr::vhdx
