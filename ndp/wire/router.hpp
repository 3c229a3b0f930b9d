// Router solicitation and router advertisement messages (RFC 4861 sections 4.1 and 4.2),
// as the ICMPv6 payload a raw IPPROTO_ICMPV6 socket reads and writes (no IPv6 header; the
// kernel fills in the checksum on send). Pure: bytes in, values out and back.
//
// Only the options network boot needs are decoded (source link-layer address); others are
// skipped by their length, and a malformed option list is an error, as RFC 4861 section
// 4.6 asks (a zero length option would loop forever otherwise).
#pragma once

#include <cstdint>
#include <optional>

#include "common/net.hpp"
#include "common/result.hpp"
#include "common/wire.hpp"

namespace drover::ndp::wire {

using drover::wire::Bytes;
using drover::wire::ByteView;

inline constexpr std::uint8_t kRouterSolicitation = 133;
inline constexpr std::uint8_t kRouterAdvertisement = 134;
inline constexpr std::uint8_t kOptionSourceLinkLayer = 1;
// Every neighbour discovery message travels with hop limit 255 and receivers drop any that
// arrive with less: proof that it was not forwarded by a router.
inline constexpr int kHopLimit = 255;

struct RouterSolicitation {
  std::optional<MacAddress> source_mac;  // option 1, when the sender has an address
};

struct RouterAdvertisement {
  std::uint8_t cur_hop_limit = 0;        // 0: unspecified
  bool managed = false;                  // M: addresses from DHCPv6
  bool other = false;                    // O: other configuration from DHCPv6
  std::uint16_t router_lifetime_s = 0;   // 0: not a default router
  std::uint32_t reachable_time_ms = 0;   // 0: unspecified
  std::uint32_t retrans_timer_ms = 0;    // 0: unspecified
  std::optional<MacAddress> source_mac;  // option 1
};

// Errors: "ndp_short", "ndp_type" (not a solicitation), "ndp_code" (code != 0),
// "ndp_option" (an option with length 0 or running past the message).
Result<RouterSolicitation> parseRouterSolicitation(ByteView data);
Result<RouterAdvertisement> parseRouterAdvertisement(ByteView data);

// The ICMPv6 message with a zero checksum (the kernel computes it for raw ICMPv6 sockets).
Bytes encodeRouterAdvertisement(const RouterAdvertisement& ra);
Bytes encodeRouterSolicitation(const RouterSolicitation& rs);

}  // namespace drover::ndp::wire
