// The DHCP server's own configuration: plain values, filled by whoever embeds the server
// (the provisioner from its YAML model, the test harness from flags or JSON). No YAML here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"

namespace drover::dhcp {

struct NetworkConfig {
  enum class Mode { Dhcp, Proxy };  // Proxy: another server leases, Drover adds boot info

  std::string name;
  Cidr subnet;
  Mode mode = Mode::Dhcp;
  // Pool ranges, walked in order when a new address is needed (an exhausted range spills
  // into the next); none: only reserved addresses are handed out.
  std::vector<Ipv4Range> pools;
  std::optional<Ipv4Address> gateway;
  std::vector<Ipv4Address> dns;
  std::string domain;
  std::chrono::seconds lease{3600};
  // The link this network is directly on; empty: found from the interface's address.
  std::string interface;
  // Relay addresses (giaddr) that select this network even though they lie outside the
  // subnet (Kea's relay "ip-addresses"), e.g. a relay numbered on another link.
  std::vector<Ipv4Address> relays;
  // Options sent even when the client's parameter request list (55) leaves them out
  // (Kea's always-send), e.g. {3, 6}. Without a list every configured option is sent.
  std::vector<std::uint8_t> always_send;

  // True if `ip` lies in one of the pool ranges.
  bool inPool(Ipv4Address ip) const {
    for (const auto& r : pools)
      if (r.contains(ip)) return true;
    return false;
  }
};

// DISCOVER rate limits (token buckets, refilled every second): `rate` DISCOVERs a second,
// up to `burst` at once. A rate of 0 turns that limit off.
struct DiscoverLimits {
  // Per client (option 61, else MAC): its own retransmissions never come close.
  std::uint32_t client_rate = 2;
  std::uint32_t client_burst = 10;
  // Per receiving interface, counting only DISCOVERs that would take a new pool address
  // (not a reservation, not a client the server already holds an address for): a boot storm
  // of a few thousand machines at once fits in the burst.
  std::uint32_t interface_rate = 1000;
  std::uint32_t interface_burst = 5000;
};

struct ServerConfig {
  // Server identifier and default next-server; unspecified: the receiving interface's address.
  Ipv4Address server_address;
  std::vector<std::string> interfaces;  // where to listen; empty: every IPv4 interface but lo
  std::vector<NetworkConfig> networks;

  std::chrono::seconds offer_hold{30};            // how long an offered address stays held
  std::chrono::seconds decline_quarantine{3600};  // a DECLINEd address is not offered for this long
  std::chrono::seconds reclaim_after{86400};      // expired leases are removed after this
  // ICMP-probe a new pool address before offering it (never reservations); an answer
  // quarantines the address like a DECLINE. Off: each probe delays an offer by the timeout.
  bool ping_before_offer = false;
  std::chrono::milliseconds ping_timeout{500};
  DiscoverLimits discover_limits{};

  std::uint16_t server_port = 67;  // also the port relays listen on
  std::uint16_t client_port = 68;
  std::uint16_t proxy_port = 4011;  // PXE boot server requests in proxy mode
};

}  // namespace drover::dhcp
