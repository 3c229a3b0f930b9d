#include "common/net.hpp"

#include "common/hex.hpp"

#include <charconv>
#include <span>

#include <fmt/format.h>

namespace drover {

Result<MacAddress> MacAddress::parse(std::string_view text) {
  auto bad = [&] { return makeError("bad_mac", fmt::format("\"{}\" is not a MAC address", text)); };
  std::string digits;
  // Which separator, and how many hex digits between separators, must be consistent.
  char sep = 0;
  std::size_t group = 0;
  std::size_t groups = 0;
  std::size_t expected_group = 0;
  for (char c : text) {
    if (c == ':' || c == '-' || c == '.') {
      if (sep != 0 && c != sep) return bad();
      sep = c;
      if (group == 0) return bad();
      if (expected_group == 0) expected_group = group;
      if (group != expected_group) return bad();
      group = 0;
      ++groups;
      continue;
    }
    if (hexDigitValue(c) < 0) return bad();
    digits.push_back(c);
    ++group;
  }
  if (sep != 0) {
    if (group != expected_group) return bad();
    ++groups;
    const bool colon_or_dash = (sep == ':' || sep == '-') && expected_group == 2 && groups == 6;
    const bool dotted = sep == '.' && expected_group == 4 && groups == 3;
    if (!colon_or_dash && !dotted) return bad();
  }
  std::array<std::uint8_t, 6> o{};
  if (!fromHex(digits, o)) return bad();
  return MacAddress(o);
}

bool MacAddress::isZero() const {
  for (auto o : octets_)
    if (o != 0) return false;
  return true;
}

std::string MacAddress::str() const {
  const auto& o = octets_;
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3], o[4],
                     o[5]);
}

Result<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  auto bad = [&] {
    return makeError("bad_ipv4", fmt::format("\"{}\" is not an IPv4 address", text));
  };
  std::uint32_t v = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return bad();
      ++p;
    }
    if (p == end || *p < '0' || *p > '9') return bad();
    // No leading zeros ("010" is octal to some tools and decimal to others).
    if (*p == '0' && p + 1 != end && p[1] >= '0' && p[1] <= '9') return bad();
    unsigned octet = 0;
    auto [next, ec] = std::from_chars(p, end, octet);
    if (ec != std::errc() || octet > 255 || next - p > 3) return bad();
    p = next;
    v = (v << 8) | octet;
  }
  if (p != end) return bad();
  return Ipv4Address(v);
}

std::array<std::uint8_t, 4> Ipv4Address::octets() const {
  return {static_cast<std::uint8_t>(v_ >> 24), static_cast<std::uint8_t>(v_ >> 16),
          static_cast<std::uint8_t>(v_ >> 8), static_cast<std::uint8_t>(v_)};
}

std::string Ipv4Address::str() const {
  // Dotted quad, at most 15 characters: fits the string's inline buffer, no allocation.
  char text[16];
  char* at = text;
  for (auto o : octets()) {
    if (at != text) *at++ = '.';
    at = std::to_chars(at, text + sizeof text, o).ptr;
  }
  return std::string(text, at);
}

Cidr::Cidr(Ipv4Address network, int prefix) : network_(network), prefix_(prefix) {}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto bad = [&](std::string why) {
    return makeError("bad_cidr", fmt::format("\"{}\" is not a CIDR subnet{}", text, why));
  };
  if (slash == std::string_view::npos) return bad(" (expected address/prefix)");
  auto addr = Ipv4Address::parse(text.substr(0, slash));
  if (!addr) return bad("");
  auto ptext = text.substr(slash + 1);
  int prefix = -1;
  auto [next, ec] = std::from_chars(ptext.data(), ptext.data() + ptext.size(), prefix);
  if (ec != std::errc() || next != ptext.data() + ptext.size() || prefix < 0 || prefix > 32 ||
      ptext.empty())
    return bad(" (prefix must be 0-32)");
  Cidr c(*addr, prefix);
  if (c.network_.value() & ~c.netmask().value())
    return bad(fmt::format(" (host bits set; did you mean {}?)",
                           Cidr(Ipv4Address(addr->value() & c.netmask().value()), prefix).str()));
  return c;
}

Ipv4Address Cidr::netmask() const {
  return Ipv4Address(prefix_ == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix_));
}

Ipv4Address Cidr::broadcast() const {
  return Ipv4Address(network_.value() | ~netmask().value());
}

bool Cidr::contains(Ipv4Address a) const {
  return (a.value() & netmask().value()) == network_.value();
}

bool Cidr::overlaps(const Cidr& other) const {
  return contains(other.network_) || other.contains(network_);
}

std::string Cidr::str() const {
  return fmt::format("{}/{}", network_.str(), prefix_);
}

Result<Ipv4Range> Ipv4Range::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return makeError("bad_range", fmt::format("\"{}\" is not an address range{}", text, why));
  };
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return bad(" (expected first-last)");
  auto first = Ipv4Address::parse(text.substr(0, dash));
  auto last = Ipv4Address::parse(text.substr(dash + 1));
  if (!first || !last) return bad("");
  if (*last < *first) return bad(" (last address is before the first)");
  return Ipv4Range{*first, *last};
}

std::string Ipv4Range::str() const {
  return fmt::format("{}-{}", first.str(), last.str());
}

Result<Uuid> Uuid::parse(std::string_view text) {
  auto bad = [&] { return makeError("bad_uuid", fmt::format("\"{}\" is not a UUID", text)); };
  auto t = text;
  if (t.size() >= 2 && t.front() == '{' && t.back() == '}') t = t.substr(1, t.size() - 2);
  if (t.size() != 36) return bad();
  std::string digits;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_pos != (t[i] == '-')) return bad();
    if (!dash_pos) digits.push_back(t[i]);
  }
  std::array<std::uint8_t, 16> b{};
  if (!fromHex(digits, b)) return bad();
  return Uuid(b);
}

bool Uuid::isZero() const {
  for (auto b : bytes_)
    if (b != 0) return false;
  return true;
}

std::string Uuid::str() const {
  const std::span<const std::uint8_t> b(bytes_);
  return toHex(b.subspan(0, 4)) + '-' + toHex(b.subspan(4, 2)) + '-' + toHex(b.subspan(6, 2)) +
         '-' + toHex(b.subspan(8, 2)) + '-' + toHex(b.subspan(10));
}

}  // namespace drover
