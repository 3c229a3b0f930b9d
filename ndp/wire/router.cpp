#include "ndp/wire/router.hpp"

#include <array>

namespace drover::ndp::wire {
namespace {

using drover::wire::Reader;
using drover::wire::Writer;

constexpr std::size_t kOptionUnit = 8;  // option lengths count 8-byte units

// Checks the ICMPv6 type and code and leaves the reader after the checksum.
Status header(Reader& r, std::uint8_t want_type) {
  auto type = r.u8();
  auto code = r.u8();
  auto checksum = r.u16();
  if (!type || !code || !checksum)
    return makeError("ndp_short", "message shorter than its ICMPv6 header");
  if (*type != want_type) return makeError("ndp_type", "ICMPv6 type " + std::to_string(*type));
  if (*code != 0) return makeError("ndp_code", "ICMPv6 code " + std::to_string(*code));
  return {};
}

// Walks the option list; returns the source link-layer address if one is present.
Result<std::optional<MacAddress>> options(Reader& r) {
  std::optional<MacAddress> mac;
  while (!r.atEnd()) {
    auto type = r.u8();
    auto units = r.u8();
    if (!type || !units || *units == 0 || *units * kOptionUnit - 2 > r.remaining())
      return makeError("ndp_option", "malformed option list");
    auto body = r.bytes(*units * kOptionUnit - 2);
    if (*type == kOptionSourceLinkLayer && body->size() >= 6) {
      std::array<std::uint8_t, 6> octets{};
      for (std::size_t i = 0; i < 6; ++i) octets[i] = static_cast<std::uint8_t>((*body)[i]);
      mac = MacAddress(octets);
    }
  }
  return mac;
}

// Type, code 0 and a zero checksum (the kernel fills it in).
void icmpHeader(Writer& w, std::uint8_t type) {
  w.u8(type);
  w.u8(0);
  w.u16(0);
}

void sourceLinkLayer(Writer& w, const std::optional<MacAddress>& mac) {
  if (!mac) return;
  w.u8(kOptionSourceLinkLayer);
  w.u8(1);  // 8 bytes: type, length, 6 address bytes
  for (auto b : mac->octets()) w.u8(b);
}

}  // namespace

Result<RouterSolicitation> parseRouterSolicitation(ByteView data) {
  Reader r(data);
  if (auto s = header(r, kRouterSolicitation); !s) return s.error();
  if (!r.skip(4)) return makeError("ndp_short", "solicitation shorter than 8 bytes");
  auto mac = options(r);
  if (!mac) return mac.error();
  return RouterSolicitation{*mac};
}

Result<RouterAdvertisement> parseRouterAdvertisement(ByteView data) {
  Reader r(data);
  if (auto s = header(r, kRouterAdvertisement); !s) return s.error();
  RouterAdvertisement ra;
  auto hop = r.u8();
  auto flags = r.u8();
  auto lifetime = r.u16();
  auto reachable = r.u32();
  auto retrans = r.u32();
  if (!hop || !flags || !lifetime || !reachable || !retrans)
    return makeError("ndp_short", "advertisement shorter than 16 bytes");
  ra.cur_hop_limit = *hop;
  ra.managed = (*flags & 0x80) != 0;
  ra.other = (*flags & 0x40) != 0;
  ra.router_lifetime_s = *lifetime;
  ra.reachable_time_ms = *reachable;
  ra.retrans_timer_ms = *retrans;
  auto mac = options(r);
  if (!mac) return mac.error();
  ra.source_mac = *mac;
  return ra;
}

Bytes encodeRouterAdvertisement(const RouterAdvertisement& ra) {
  Bytes out;
  Writer w(out);
  icmpHeader(w, kRouterAdvertisement);
  w.u8(ra.cur_hop_limit);
  w.u8(static_cast<std::uint8_t>((ra.managed ? 0x80 : 0) | (ra.other ? 0x40 : 0)));
  w.u16(ra.router_lifetime_s);
  w.u32(ra.reachable_time_ms);
  w.u32(ra.retrans_timer_ms);
  sourceLinkLayer(w, ra.source_mac);
  return out;
}

Bytes encodeRouterSolicitation(const RouterSolicitation& rs) {
  Bytes out;
  Writer w(out);
  icmpHeader(w, kRouterSolicitation);
  w.u32(0);  // reserved
  sourceLinkLayer(w, rs.source_mac);
  return out;
}

}  // namespace drover::ndp::wire
