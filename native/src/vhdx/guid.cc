#include "vhdx/guid.h"

#include <cstring>
#include <mutex>
#include <random>

namespace hvr::vhdx {
namespace {

// Printed order of the 16 stored bytes: Data1 (4, reversed), Data2 (2, reversed), Data3 (2, reversed), Data4.
constexpr int kPrintOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool Guid::IsZero() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::string Guid::ToString() const {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "{";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    uint8_t b = bytes[static_cast<size_t>(kPrintOrder[i])];
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  out += '}';
  return out;
}

bool Guid::Parse(const std::string& text, Guid* out) {
  std::string s = text;
  if (s.size() == 38 && s.front() == '{' && s.back() == '}') s = s.substr(1, 36);
  if (s.size() != 36) return false;
  Guid g;
  int index = 0;
  for (size_t i = 0; i < s.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      ++i;
      continue;
    }
    int hi = HexValue(s[i]);
    int lo = HexValue(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    g.bytes[static_cast<size_t>(kPrintOrder[index++])] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  *out = g;
  return true;
}

Guid Guid::Random() {
  static std::mutex mutex;
  static std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  Guid g;
  {
    std::lock_guard<std::mutex> lock(mutex);
    uint64_t a = engine();
    uint64_t b = engine();
    std::memcpy(g.bytes.data(), &a, 8);
    std::memcpy(g.bytes.data() + 8, &b, 8);
  }
  g.bytes[7] = static_cast<uint8_t>((g.bytes[7] & 0x0F) | 0x40);  // Data3 high nibble: version 4
  g.bytes[8] = static_cast<uint8_t>((g.bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return g;
}

Guid Guid::FromBytes(const uint8_t* p) {
  Guid g;
  std::memcpy(g.bytes.data(), p, 16);
  return g;
}

void Guid::Store(uint8_t* p) const { std::memcpy(p, bytes.data(), 16); }

}  // namespace hvr::vhdx
