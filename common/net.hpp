// Network value types shared by every component: MAC and IPv4 addresses, CIDR subnets,
// address ranges and SMBIOS UUIDs. Parsers accept the forms operators write and return an
// Error naming what was wrong; formatting is canonical (lower-case, colon-separated).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace drover {

class MacAddress {
 public:
  MacAddress() = default;
  explicit MacAddress(const std::array<std::uint8_t, 6>& octets) : octets_(octets) {}

  // Accepts 52:54:00:12:34:56, 52-54-00-12-34-56, 5254.0012.3456 and 525400123456, any case.
  static Result<MacAddress> parse(std::string_view text);

  const std::array<std::uint8_t, 6>& octets() const { return octets_; }
  bool isZero() const;
  std::string str() const;  // 52:54:00:12:34:56

  friend auto operator<=>(const MacAddress&, const MacAddress&) = default;

 private:
  std::array<std::uint8_t, 6> octets_{};
};

class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(std::uint32_t host_order) : v_(host_order) {}

  static Result<Ipv4Address> parse(std::string_view text);  // dotted quad only

  constexpr std::uint32_t value() const { return v_; }  // host byte order
  std::array<std::uint8_t, 4> octets() const;
  bool isUnspecified() const { return v_ == 0; }
  std::string str() const;

  friend constexpr auto operator<=>(const Ipv4Address&, const Ipv4Address&) = default;

 private:
  std::uint32_t v_ = 0;
};

class Cidr {
 public:
  Cidr() = default;
  Cidr(Ipv4Address network, int prefix);

  // "192.0.2.0/24". Host bits set ("192.0.2.5/24") is an error: it is usually a typo.
  static Result<Cidr> parse(std::string_view text);

  Ipv4Address network() const { return network_; }
  int prefix() const { return prefix_; }
  Ipv4Address netmask() const;
  Ipv4Address broadcast() const;
  bool contains(Ipv4Address a) const;
  bool overlaps(const Cidr& other) const;
  std::string str() const;

  friend auto operator<=>(const Cidr&, const Cidr&) = default;

 private:
  Ipv4Address network_;
  int prefix_ = 32;
};

// An inclusive range of addresses: "192.0.2.100-192.0.2.199".
struct Ipv4Range {
  Ipv4Address first;
  Ipv4Address last;

  static Result<Ipv4Range> parse(std::string_view text);

  bool contains(Ipv4Address a) const { return first <= a && a <= last; }
  bool overlaps(const Ipv4Range& o) const { return first <= o.last && o.first <= last; }
  std::uint64_t size() const { return std::uint64_t{last.value()} - first.value() + 1; }
  std::string str() const;

  friend auto operator<=>(const Ipv4Range&, const Ipv4Range&) = default;
};

// SMBIOS / RFC 4122 UUID, kept as 16 bytes in the textual byte order.
class Uuid {
 public:
  Uuid() = default;
  explicit Uuid(const std::array<std::uint8_t, 16>& bytes) : bytes_(bytes) {}

  // 8-4-4-4-12 hex, any case, optionally in braces.
  static Result<Uuid> parse(std::string_view text);

  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  bool isZero() const;
  std::string str() const;

  friend auto operator<=>(const Uuid&, const Uuid&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace drover

template <>
struct std::hash<drover::MacAddress> {
  std::size_t operator()(const drover::MacAddress& m) const noexcept {
    std::uint64_t v = 0;
    for (auto o : m.octets()) v = (v << 8) | o;
    return std::hash<std::uint64_t>{}(v);
  }
};

template <>
struct std::hash<drover::Ipv4Address> {
  std::size_t operator()(const drover::Ipv4Address& a) const noexcept {
    return std::hash<std::uint32_t>{}(a.value());
  }
};

template <>
struct std::hash<drover::Uuid> {
  std::size_t operator()(const drover::Uuid& u) const noexcept {
    std::size_t h = 0;
    for (auto b : u.bytes()) h = h * 131 + b;
    return h;
  }
};
