// The DHCP server's counters: dhcp_packets_total{type=...} for requests received,
// dhcp_replies_total{type=...} for replies sent, dhcp_drops_total{reason=...} for every
// datagram dropped or left unanswered, plus lease gauges.
#pragma once

#include <array>
#include <string_view>

#include "common/metrics.hpp"

namespace drover::dhcp {

// Every drop reason, registered up front so each series exists (at 0) from the start.
inline constexpr std::array<std::string_view, 28> kDropReasons{
    // bad input (codec and header checks)
    "truncated", "oversized", "bad_cookie", "bad_hlen", "option_overrun", "bad_option_length",
    "bad_overload", "overload_loop", "bootreply", "zero_chaddr", "no_message_type",
    "unknown_message_type",
    // nothing to say to this client
    "no_network", "policy_ignore", "pool_exhausted", "reservation_conflict", "no_pool",
    "other_server", "unknown_client", "bad_request", "not_pxe_client", "proxy_mode",
    "proxy_not_ours",
    // local trouble
    "encode_failed", "store_error", "send_failed", "address_in_use", "probe_pending"};

class Stats {
 public:
  explicit Stats(metrics::Registry& registry);

  // Counts a drop; returns the reason as a string with static storage (unknown: "other").
  std::string_view drop(std::string_view reason);
  void received(std::uint8_t type);  // option 53 value
  void replied(std::uint8_t type);
  metrics::Registry& registry() { return registry_; }

 private:
  metrics::Registry& registry_;
  std::array<metrics::Counter*, kDropReasons.size()> drops_{};
  metrics::Counter* other_drop_ = nullptr;
  std::array<metrics::Counter*, 9> received_{};  // by message type, 0 = unknown
  std::array<metrics::Counter*, 9> replied_{};
};

}  // namespace drover::dhcp
