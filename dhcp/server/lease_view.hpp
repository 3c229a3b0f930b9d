// Which address each machine holds a lease on, for other threads than the engine's (the
// HTTP boot server binds boot tokens to the lease holder). The engine's LeaseTable mirrors
// its bound leases here as they change, its own and those learned from other servers.
// Thread-safe: one writer (the engine's thread), any number of readers.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <unordered_map>

#include "common/net.hpp"
#include "dhcp/server/lease_store.hpp"

namespace drover::dhcp {

class LeaseView {
 public:
  // A lease as the engine holds it now: kept when Bound, forgotten otherwise.
  void put(const Lease& lease);
  void remove(Ipv4Address ip);
  // True when `ip` is bound to `mac` and the lease has not expired at `now` (Unix seconds).
  bool holds(const MacAddress& mac, Ipv4Address ip, std::int64_t now) const;
  std::size_t size() const;

 private:
  struct Held {
    MacAddress mac;
    std::int64_t expires = 0;
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::uint32_t, Held> by_ip_;
};

}  // namespace drover::dhcp
