// GUIDs in the Microsoft binary layout VHDX stores (Data1..3 little-endian, Data4 as bytes).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace hvr::vhdx {

struct Guid {
  std::array<uint8_t, 16> bytes{};

  bool IsZero() const;
  bool operator==(const Guid& other) const { return bytes == other.bytes; }
  bool operator!=(const Guid& other) const { return bytes != other.bytes; }
  // Lowercase with braces, the form parent_linkage uses: {ff34003b-11ed-4cf8-a166-b2be05e20b80}.
  std::string ToString() const;
  // Accepts the form above, with or without braces, any case.
  static bool Parse(const std::string& text, Guid* out);
  // A random (version 4) GUID; every session and every new file needs fresh ones.
  static Guid Random();
  static Guid FromBytes(const uint8_t* p);
  void Store(uint8_t* p) const;
};

}  // namespace hvr::vhdx
