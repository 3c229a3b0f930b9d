// DISCOVER flood control: token buckets per client and per receiving interface, on the
// engine's clock (whole seconds). Single-threaded (owned by the engine). The per-client
// table is bounded: buckets that have refilled are forgotten (once a second at most when
// the table is full), and past the bound a new client is let through untracked, so a flood
// of random MACs costs bounded memory and is left to the per-interface limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "dhcp/server/config.hpp"

namespace drover::dhcp {

class TokenBucket {
 public:
  // Takes a token if one is left after refilling `rate` a second up to `burst`.
  bool take(std::uint32_t rate, std::uint32_t burst, std::int64_t now);
  // Full again at `now`: as good as a bucket never used.
  bool full(std::uint32_t rate, std::int64_t now) const;

 private:
  std::uint64_t used_ = 0;  // tokens taken and not yet refilled, as of last_
  std::int64_t last_ = 0;
};

class DiscoverLimiter {
 public:
  static constexpr std::size_t kMaxClients = 16384;

  // True if a DISCOVER of `client_key` may be answered now (limits.client_*).
  bool allowClient(const DiscoverLimits& limits, const std::string& client_key, std::int64_t now);
  // True if a DISCOVER that needs a new pool address may be answered on `interface` now
  // (limits.interface_*).
  bool allowNewClient(const DiscoverLimits& limits, const std::string& interface, std::int64_t now);

  std::size_t trackedClients() const { return clients_.size(); }

 private:
  void sweep(const DiscoverLimits& limits, std::int64_t now);

  std::unordered_map<std::string, TokenBucket> clients_;
  std::unordered_map<std::string, TokenBucket> interfaces_;
  std::int64_t last_sweep_ = 0;
};

}  // namespace drover::dhcp
