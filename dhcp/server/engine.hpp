// The DHCP protocol engine: datagram in -> decision -> datagram out. No sockets, no real
// time: the transport hands it bytes with where they came from, and sends what it returns;
// the clock and the boot policy are interfaces. Lease changes come back as LeaseWrites that
// the transport makes durable before it sends the reply (group commit).
//
// Single-threaded: call it from one thread or strand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "dhcp/server/clock.hpp"
#include "dhcp/server/config.hpp"
#include "dhcp/server/discover_limiter.hpp"
#include "dhcp/server/lease_table.hpp"
#include "dhcp/server/observer.hpp"
#include "dhcp/server/policy.hpp"
#include "dhcp/server/responsibility.hpp"
#include "dhcp/server/stats.hpp"
#include "dhcp/wire/message.hpp"

namespace drover::dhcp {

// Where a datagram arrived.
struct PacketContext {
  std::string interface;          // receiving interface name
  Ipv4Address interface_address;  // its IPv4 address (the server identifier by default)
  Ipv4Address source;             // sender's address and port
  std::uint16_t source_port = 68;
  bool proxy_port = false;  // arrived on the PXE boot server port (4011)
};

// Where a reply goes (RFC 2131 4.1).
struct Destination {
  enum class Kind {
    Broadcast,  // 255.255.255.255:port out of the receiving interface
    Unicast,    // ip:port, routed normally (relay, ciaddr, proxy 4011 source)
    Hardware,   // ip:port to a client that has no address yet: needs `mac` (ARP-less send)
  };
  Kind kind = Kind::Broadcast;
  Ipv4Address ip;
  std::uint16_t port = 68;
  MacAddress mac;
};

struct Reply {
  wire::Bytes payload;
  Destination destination;
  std::string interface;  // send out of this interface
  wire::MessageType type = wire::MessageType::Ack;
};

struct Outcome {
  std::optional<Reply> reply;
  std::vector<LeaseWrite> writes;  // make durable before sending `reply`
  std::string_view drop;           // toString(Drop) when nothing is sent and it was not expected
  // Ping-before-offer: send `reply` only if nothing answers an ICMP echo to this address
  // within ServerConfig::ping_timeout. Either way, report with Engine::probeResult().
  std::optional<Ipv4Address> probe;
  // What to tell an ExchangeObserver once `reply` is sent (and `writes` are durable).
  std::optional<Exchange> exchange;
};

class Engine {
 public:
  Engine(ServerConfig config, const BootPolicy& policy, const Clock& clock,
         metrics::Registry& registry = metrics::Registry::global());

  // Loads leases from the store (at start-up). Offered leases are ignored.
  void restore(const std::vector<Lease>& leases);

  // Serves `config` from the next datagram on (a reload): networks, pools, options and
  // timers change; every lease, offer and quarantine is kept.
  void reconfigure(ServerConfig config);

  Outcome handle(wire::ByteView datagram, const PacketContext& ctx);

  // Shares the clients with other servers on the same lease store: broadcasts of clients
  // `r` does not own are dropped (other_replica), allocation prefers r's share, and only
  // owned leases are reclaimed. Null (the default): every client is ours. `r` must outlive
  // the engine.
  void setResponsibility(const Responsibility* r) { responsibility_ = r; }
  // A lease another server stored (seen on the shared store): it replaces what this engine
  // holds for that address, an offer included; ignored when this engine has bound the
  // address since (a later end). Offered leases are ignored. When the client
  // is this engine's and now holds two bound addresses (two servers answered it around a
  // takeover), the one that ends first is returned as a Remove to store.
  // `authoritative`: the store refused this engine's write of that address and holds
  // `lease` there: it replaces what the engine holds, newer or not.
  std::vector<LeaseWrite> learn(const Lease& lease, bool authoritative = false);
  // The store refused or lost `writes` (no reply was sent for them): the leases they put
  // are dropped from memory where nothing changed them since, so that this engine never
  // holds a binding the store does not have.
  void rollback(const std::vector<LeaseWrite>& writes);
  // Another server removed the lease `client_key` held on `ip` ("": whoever held it):
  // forgotten unless this engine holds an offer or a lease of another client there now.
  void forget(Ipv4Address ip, const std::string& client_key = {});

  // Leases expired past `reclaim_after` (Declined: past quarantine), removed from memory
  // and returned as Remove writes for the store.
  std::vector<LeaseWrite> reclaimExpired();

  // The probe of `ip` ended. Answered: the address is quarantined (decline_quarantine) and
  // the write to store is returned; the held offer must be dropped ("address_in_use").
  // While a probe runs, the client's retransmitted DISCOVERs are not answered.
  std::vector<LeaseWrite> probeResult(Ipv4Address ip, bool answered);

  const LeaseTable& leases() const { return table_; }
  // Mirrors the bound leases into `view` (read by other threads); null detaches it. Call
  // on the engine's thread (or before it runs).
  void setLeaseView(LeaseView* view) { table_.setView(view); }
  const ServerConfig& config() const { return config_; }
  Stats& stats() { return stats_; }

  // Option 61 if present, else htype + chaddr[0..hlen).
  static std::string clientKey(const wire::Message& m);

 private:
  struct Request;  // per-datagram working state (engine.cpp)

  Outcome onDiscover(Request& r);
  Outcome onRequest(Request& r);
  Outcome onDecline(Request& r);
  Outcome onRelease(Request& r);
  Outcome onInform(Request& r);
  Outcome onProxy(Request& r);

  const NetworkConfig* selectNetwork(const wire::Message& m, const PacketContext& ctx) const;
  ClientFacts factsFor(const Request& r) const;
  // The address this client may have in r.network now (reservation, its lease, the one it
  // asks for, or a new one), or nullopt with r.reason set.
  std::optional<Ipv4Address> chooseAddress(Request& r, const BootAnswer& answer,
                                           std::optional<Ipv4Address> requested);
  bool acceptable(const Request& r, const BootAnswer& answer, Ipv4Address ip) const;
  Outcome bind(Request& r, const BootAnswer& answer, Ipv4Address ip);
  Outcome nak(Request& r, std::string_view why);

  wire::Message replyBase(const Request& r, wire::MessageType type) const;
  void addNetworkOptions(wire::Message& reply, const NetworkConfig& net,
                         const BootAnswer& answer) const;
  void addLeaseTimes(wire::Message& reply, const NetworkConfig& net) const;
  void addBootOptions(wire::Message& reply, const Request& r, const BootAnswer& answer) const;
  void applyParameterList(const Request& r, wire::Message& reply) const;
  Destination destinationFor(const Request& r, const wire::Message& reply) const;
  Outcome finish(const Request& r, wire::Message reply, Destination dest);
  Outcome drop(const Request* r, Drop reason, const wire::Message* m = nullptr);
  Exchange exchangeFor(const Request& r, Exchange::Kind kind, Ipv4Address address) const;
  std::optional<Exchange> exchangeOf(const Request& r, const wire::Message& reply) const;

  Ipv4Address serverId(const PacketContext& ctx) const;

  ServerConfig config_;
  bool owns(const std::string& client_key) const;

  const BootPolicy& policy_;
  const Responsibility* responsibility_ = nullptr;
  const Clock& clock_;
  Stats stats_;
  LeaseTable table_;
  std::unordered_set<std::uint32_t> probing_;  // addresses with a ping-before-offer running
  DiscoverLimiter limiter_;
  std::shared_ptr<spdlog::logger> log_;
  log::RateLimit drop_log_limit_;
};

}  // namespace drover::dhcp
