#include "common/hex.hpp"

namespace drover {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

}  // namespace

std::string toHex(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string toHex(std::span<const std::byte> bytes) {
  return toHex({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

int hexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool fromHex(std::string_view digits, std::span<std::uint8_t> out) {
  if (digits.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hexDigitValue(digits[2 * i]);
    const int lo = hexDigitValue(digits[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace drover
