// The engine's in-memory view of every lease: by address and by client, plus pool
// allocation. Single-threaded (owned by the engine).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "dhcp/server/lease_store.hpp"
#include "dhcp/server/lease_view.hpp"

namespace drover::dhcp {

class LeaseTable {
 public:
  const Lease* byIp(Ipv4Address ip) const;
  const Lease* byClient(const std::string& client_key) const;
  std::size_t size() const { return by_ip_.size(); }

  void put(const Lease& lease);
  void remove(Ipv4Address ip);

  // Mirrors every change from now on into `view` (null: none), after handing it the
  // leases held now. `view` must outlive the table or be detached first.
  void setView(LeaseView* view);

  // True if `ip` can be given to `client_key` now: no lease, the client's own lease, or
  // another client's lease that has expired (Offered/Bound/Released). A Declined address is
  // free only once its quarantine has passed.
  bool isFreeFor(Ipv4Address ip, const std::string& client_key, std::int64_t now) const;

  // The next free address of `ranges` (walked in order, as one sequence) after the pool's
  // cursor, skipping those `excluded` says no to (reserved for others). Addresses nobody
  // ever held come first, then expired or released ones. nullopt when every range is
  // exhausted.
  std::optional<Ipv4Address> allocate(const std::string& pool_name,
                                      const std::vector<Ipv4Range>& ranges,
                                      const std::string& client_key, std::int64_t now,
                                      const std::function<bool(Ipv4Address)>& excluded);

  // The address of the oldest held offer (an Offered lease, never requested) in `ranges`
  // that `excluded` does not rule out, for a full pool to give to a new client; nullopt if
  // there is none.
  std::optional<Ipv4Address> oldestOffer(const std::vector<Ipv4Range>& ranges,
                                         const std::function<bool(Ipv4Address)>& excluded) const;
  std::size_t offers() const { return offers_.size(); }

  // Leases to drop: expired for longer than `grace` seconds (Declined: past quarantine).
  std::vector<Lease> reclaimable(std::int64_t now, std::int64_t grace) const;

  template <typename F>
  void forEach(F&& f) const {
    for (const auto& [ip, lease] : by_ip_) f(lease);
  }

 private:
  std::unordered_map<std::uint32_t, Lease> by_ip_;
  std::unordered_map<std::string, std::uint32_t> by_client_;
  std::unordered_map<std::string, std::uint32_t> cursors_;  // per pool: last address given
  LeaseView* view_ = nullptr;
  // Offered leases by (expires, address): the oldest offer first.
  std::set<std::pair<std::int64_t, std::uint32_t>> offers_;

  void index(const Lease& l);
  void unindex(const Lease& l);
};

}  // namespace drover::dhcp
