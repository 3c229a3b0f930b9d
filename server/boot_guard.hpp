// Who may be handed a boot token and spend it (docs/api.md, "Boot tokens").
//
// On a network where Drover leases the addresses (a `dhcp` network and the DHCP server
// running), a script that carries a token is served only to the address that holds the
// lease of the MAC it asks for, and the token names that holder: the exchange is accepted
// only from an address holding that MAC's lease (or, on a replica without a DHCP server,
// from the address the token names). With server.boot.allowed_subnets, both also need an
// address inside those subnets. Every refusal is counted in
// drover_boot_token_refusals_total{reason} and, for a node that is declared or known to the
// store, noted on its timeline as "boot_refused", at most once a minute and not twice in a
// row for the same reason, so refused requests cannot grow the database either.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "cluster/config.hpp"
#include "cluster/inventory.hpp"
#include "server/context.hpp"
#include "state/tokens.hpp"

namespace drover::server {

// Refusal reasons (the metric's label values).
namespace boot_refusal {
inline constexpr std::string_view kMalformed = "malformed";
inline constexpr std::string_view kForged = "forged";
inline constexpr std::string_view kExpired = "expired";
inline constexpr std::string_view kReplayed = "replayed";
inline constexpr std::string_view kNotLeaseHolder = "not_lease_holder";
inline constexpr std::string_view kWrongSource = "wrong_source";
inline constexpr std::string_view kSubnetNotAllowed = "subnet_not_allowed";
}  // namespace boot_refusal

// The request's IPv4 source (IPv4-mapped IPv6 unwrapped); nullopt for real IPv6.
std::optional<Ipv4Address> sourceV4(const boost::asio::ip::address& a);

class BootGuard {
 public:
  // What a token for `mac` asked from `source` may say: the holder it is bound to (nullopt:
  // not bound, the network's leases are not Drover's), or the refusal reason.
  std::variant<std::optional<Ipv4Address>, std::string_view> bindScript(
      const Context& ctx, const cluster::Config& config, const MacAddress& mac,
      const boost::asio::ip::address& source) const;
  // nullopt when `source` may spend a token with `claims`, else the refusal reason.
  std::optional<std::string_view> checkExchange(const Context& ctx, const cluster::Config& config,
                                                const state::BootClaims& claims,
                                                const boost::asio::ip::address& source) const;

  // Counts a refusal, logs it (rate-limited) and notes it on `node`'s timeline (empty: no
  // node is known for sure) within the limits above.
  void refused(const Context& ctx, const std::string& node, std::string_view reason,
               const boost::asio::ip::address& source);

  // Drops spent-token records well past their expiry, at most every ten minutes.
  void purgeSpent(const Context& ctx);

  static constexpr std::int64_t kNoteEveryMs = 60 * 1000;

 private:
  bool noteDue(const std::string& node, std::int64_t now_ms);

  std::mutex mu_;
  std::map<std::string, std::int64_t> noted_;  // node -> last boot_refused written
  std::int64_t last_purge_ms_ = 0;
};

// Whether `node`'s timeline gets entries from unauthenticated boot requests: a declared
// node, or a machine the store has a record of (one that exchanged a token before).
bool timelineWorthy(const Context& ctx, const cluster::Inventory& inventory,
                    const std::string& node);

// True when the most recent of `node`'s timeline entries, other than those of phase
// `skip`, has phase `phase` and a message that starts with `prefix` (a repeat to coalesce).
bool repeatsLast(const Context& ctx, const std::string& node, std::string_view phase,
                 std::string_view prefix, std::string_view skip);

}  // namespace drover::server
