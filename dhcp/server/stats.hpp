// The DHCP server's counters: dhcp_packets_total{type=...} for requests received,
// dhcp_replies_total{type=...} for replies sent, dhcp_drops_total{reason=...} for every
// datagram dropped or left unanswered, dhcp_offers_reclaimed_total for held offers given to
// another client when the pool was full, plus lease gauges.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/metrics.hpp"

namespace drover::dhcp {

// Why a datagram was dropped or left unanswered. Each is a dhcp_drops_total series,
// registered up front so it exists (at 0) from the start; toString() is its label.
enum class Drop {
  // bad input (codec and header checks)
  Truncated,
  Oversized,
  BadCookie,
  BadHlen,
  OptionOverrun,
  BadOptionLength,
  BadOverload,
  OverloadLoop,
  Bootreply,
  ZeroChaddr,
  NoMessageType,
  UnknownMessageType,
  // nothing to say to this client
  NoNetwork,
  PolicyIgnore,
  PoolExhausted,
  ReservationConflict,
  NoPool,
  OtherServer,
  OtherReplica,
  UnknownClient,
  BadRequest,
  NotPxeClient,
  ProxyMode,
  ProxyNotOurs,
  // local trouble
  EncodeFailed,
  StoreError,
  SendFailed,
  AddressInUse,
  ProbePending,
  // flood control (ServerConfig::discover_limits)
  DiscoverRateClient,
  DiscoverRateInterface,
  // a decode error code of dhcp/wire that this list does not name
  Other,
  kCount,
};
inline constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::kCount);

// The metric label: "truncated", "pool_exhausted", ... ("other" for Other).
std::string_view toString(Drop d);
// The drop for a dhcp/wire decode error code ("truncated", "bad_cookie", ...); Other when the
// codec reports a code not listed above.
Drop dropForDecodeError(std::string_view code);

class Stats {
 public:
  explicit Stats(metrics::Registry& registry);

  void drop(Drop reason) {
    drops_[static_cast<std::size_t>(reason)]->fetch_add(1, std::memory_order_relaxed);
  }
  void offerReclaimed() { reclaimed_->fetch_add(1, std::memory_order_relaxed); }
  void received(std::uint8_t type);  // option 53 value
  void replied(std::uint8_t type);
  metrics::Registry& registry() { return registry_; }

 private:
  metrics::Registry& registry_;
  std::array<metrics::Counter*, kDropCount> drops_{};
  metrics::Counter* reclaimed_ = nullptr;
  std::array<metrics::Counter*, 9> received_{};  // by message type, 0 = unknown
  std::array<metrics::Counter*, 9> replied_{};
};

}  // namespace drover::dhcp
