#include "dhcp/server/engine.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "dhcp/server/engine_request.hpp"

namespace drover::dhcp {

using wire::MessageType;
namespace opt = wire::opt;

Engine::Engine(ServerConfig config, const BootPolicy& policy, const Clock& clock,
               metrics::Registry& registry)
    : config_(std::move(config)),
      policy_(policy),
      clock_(clock),
      stats_(registry),
      log_(log::get("dhcp")),
      drop_log_limit_(10, std::chrono::seconds(1)) {}

void Engine::restore(const std::vector<Lease>& leases) {
  for (const auto& l : leases)
    if (l.state != LeaseState::Offered) table_.put(l);
  log_->info("DHCP_LEASES_RESTORED count={}", table_.size());
}

std::vector<LeaseWrite> Engine::learn(const Lease& lease, bool authoritative) {
  if (lease.state == LeaseState::Offered) return {};
  // A store change seen late: this engine bound the address since (its lease ends later,
  // or in the same second for another client: a newer lease of another client could only
  // follow this one's end), so what it holds is newer.
  if (const Lease* here = table_.byIp(lease.ip);
      !authoritative && here != nullptr && here->state == LeaseState::Bound &&
      (here->expires > lease.expires ||
       (here->expires == lease.expires && here->client_key != lease.client_key)))
    return {};
  std::vector<LeaseWrite> out;
  const Lease* held = lease.client_key.empty() ? nullptr : table_.byClient(lease.client_key);
  if (held != nullptr && held->ip != lease.ip && held->state == LeaseState::Bound &&
      lease.state == LeaseState::Bound && owns(lease.client_key)) {
    // The one that ends later stays (the lower address on a tie), whichever replica asks.
    const bool keep_held =
        held->expires != lease.expires ? held->expires > lease.expires : held->ip < lease.ip;
    log_->warn("DHCP_DOUBLE_LEASE mac={} kept={} dropped={}", lease.mac.str(),
               (keep_held ? held : &lease)->ip.str(), (keep_held ? &lease : held)->ip.str());
    if (keep_held) return {LeaseWrite{LeaseWrite::Op::Remove, lease}};
    out.push_back(LeaseWrite{LeaseWrite::Op::Remove, *held});
  }
  table_.put(lease);
  return out;
}

void Engine::forget(Ipv4Address ip, const std::string& client_key) {
  const Lease* l = table_.byIp(ip);
  if (l == nullptr || l->state == LeaseState::Offered) return;
  if (client_key.empty() || l->client_key == client_key) table_.remove(ip);
}

void Engine::rollback(const std::vector<LeaseWrite>& writes) {
  for (const auto& w : writes) {
    if (w.op != LeaseWrite::Op::Put) continue;
    const Lease* l = table_.byIp(w.lease.ip);
    if (l != nullptr && *l == w.lease) table_.remove(w.lease.ip);
  }
}

bool Engine::owns(const std::string& client_key) const {
  return responsibility_ == nullptr || responsibility_->owns(client_key);
}

void Engine::reconfigure(ServerConfig config) {
  config_ = std::move(config);
  log_->info("DHCP_RECONFIGURED networks={}", config_.networks.size());
}

std::string Engine::clientKey(const wire::Message& m) {
  if (auto cid = m.options.get(opt::kClientId); cid && !cid->empty())
    return std::string(drover::wire::asChars(*cid));
  std::string key(1, static_cast<char>(m.htype));
  const auto n = std::min<std::size_t>(m.hlen, wire::kChaddrSize);
  key.append(reinterpret_cast<const char*>(m.chaddr.data()), n);
  return key;
}

Ipv4Address Engine::serverId(const PacketContext& ctx) const {
  return config_.server_address.isUnspecified() ? ctx.interface_address : config_.server_address;
}

const NetworkConfig* Engine::selectNetwork(const wire::Message& m, const PacketContext& ctx) const {
  auto containing = [&](Ipv4Address a) -> const NetworkConfig* {
    for (const auto& n : config_.networks)
      if (n.subnet.contains(a)) return &n;
    return nullptr;
  };
  if (!m.giaddr.isUnspecified()) {  // relayed: the relay's link
    if (const auto* n = containing(m.giaddr)) return n;
    for (const auto& n : config_.networks)
      if (std::find(n.relays.begin(), n.relays.end(), m.giaddr) != n.relays.end()) return &n;
    return nullptr;
  }
  if (!m.ciaddr.isUnspecified())
    if (const auto* n = containing(m.ciaddr)) return n;
  for (const auto& n : config_.networks)
    if (!n.interface.empty() && n.interface == ctx.interface) return &n;
  return containing(ctx.interface_address);
}

Outcome Engine::handle(wire::ByteView datagram, const PacketContext& ctx) {
  auto decoded = wire::decode(datagram);
  if (!decoded.ok()) return drop(nullptr, dropForDecodeError(decoded.error().code));
  Request r{ctx, std::move(*decoded), {}, nullptr, {}, 0, {}};
  const auto& m = r.msg;
  if (m.op != static_cast<std::uint8_t>(wire::Op::BootRequest))
    return drop(nullptr, Drop::Bootreply, &m);
  if (m.zeroChaddr() && !m.options.has(opt::kClientId)) return drop(nullptr, Drop::ZeroChaddr, &m);
  auto type = m.messageType();
  if (!type) return drop(nullptr, Drop::NoMessageType, &m);
  stats_.received(*type);
  r.key = clientKey(m);
  r.now = clock_.now();
  r.server_id = serverId(ctx);
  r.network = selectNetwork(m, ctx);
  if (r.network == nullptr) return drop(&r, Drop::NoNetwork);
  // With replicas, a broadcast is answered by the client's owner only. A REQUEST naming a
  // server (SELECTING) is for that server; a DECLINE or RELEASE names its lease.
  const bool broadcastable =
      *type == static_cast<std::uint8_t>(MessageType::Discover) ||
      *type == static_cast<std::uint8_t>(MessageType::Inform) ||
      (*type == static_cast<std::uint8_t>(MessageType::Request) && !m.options.has(opt::kServerId));
  if (broadcastable && !owns(r.key)) return drop(&r, Drop::OtherReplica);
  if (*type == static_cast<std::uint8_t>(MessageType::Discover) &&
      !limiter_.allowClient(config_.discover_limits, r.key, r.now))
    return drop(&r, Drop::DiscoverRateClient);
  if (r.network->mode == NetworkConfig::Mode::Proxy || ctx.proxy_port) return onProxy(r);
  switch (static_cast<MessageType>(*type)) {
    case MessageType::Discover:
      return onDiscover(r);
    case MessageType::Request:
      return onRequest(r);
    case MessageType::Decline:
      return onDecline(r);
    case MessageType::Release:
      return onRelease(r);
    case MessageType::Inform:
      return onInform(r);
    default:
      return drop(&r, Drop::UnknownMessageType);
  }
}

ClientFacts Engine::factsFor(const Request& r) const {
  const auto& o = r.msg.options;
  ClientFacts f;
  f.mac = r.msg.mac();
  if (auto cid = o.get(opt::kClientId)) f.client_id = drover::wire::Bytes(cid->begin(), cid->end());
  if (auto u = o.get(opt::kClientUuid); u && u->size() == 17) {
    std::array<std::uint8_t, 16> b{};
    for (std::size_t i = 0; i < 16; ++i) b[i] = std::to_integer<std::uint8_t>((*u)[i + 1]);
    f.uuid = Uuid(b);
  }
  if (auto a = o.get(opt::kClientArch); a && a->size() >= 2)
    f.arch = static_cast<std::uint16_t>((std::to_integer<unsigned>((*a)[0]) << 8) |
                                        std::to_integer<unsigned>((*a)[1]));
  f.vendor_class = o.string(opt::kVendorClass).value_or("");
  f.user_class = o.string(opt::kUserClass).value_or("");
  f.is_ipxe = f.user_class == "iPXE" || o.has(opt::kIpxeEncap);
  f.giaddr = r.msg.giaddr;
  f.interface = r.ctx.interface;
  f.network = r.network != nullptr ? r.network->name : "";
  return f;
}

bool Engine::acceptable(const Request& r, const BootAnswer& answer, Ipv4Address ip) const {
  if (!r.network->subnet.contains(ip)) return false;
  if (answer.kind == BootAnswer::Kind::Reserved)
    return ip == answer.reserved_ip && table_.isFreeFor(ip, r.key, r.now);
  if (!r.network->inPool(ip)) return false;
  if (policy_.isReserved(ip)) return false;
  return table_.isFreeFor(ip, r.key, r.now);
}

std::optional<Ipv4Address> Engine::chooseAddress(Request& r, const BootAnswer& answer,
                                                 std::optional<Ipv4Address> requested) {
  if (answer.kind == BootAnswer::Kind::Reserved) {
    if (!r.network->subnet.contains(answer.reserved_ip)) {
      r.reason = Drop::NoNetwork;
      return std::nullopt;
    }
    if (!table_.isFreeFor(answer.reserved_ip, r.key, r.now)) {
      r.reason = Drop::ReservationConflict;
      return std::nullopt;
    }
    return answer.reserved_ip;
  }
  if (r.network->pools.empty()) {
    r.reason = Drop::NoPool;
    return std::nullopt;
  }
  if (const Lease* mine = table_.byClient(r.key);
      mine != nullptr && acceptable(r, answer, mine->ip))
    return mine->ip;
  if (requested && acceptable(r, answer, *requested)) return requested;
  std::optional<Ipv4Address> ip;
  if (responsibility_ != nullptr)  // this server's share first
    ip = table_.allocate(r.network->name, r.network->pools, r.key, r.now, [&](Ipv4Address a) {
      return policy_.isReserved(a) || !responsibility_->prefers(a);
    });
  if (!ip)
    ip = table_.allocate(r.network->name, r.network->pools, r.key, r.now,
                         [&](Ipv4Address a) { return policy_.isReserved(a); });
  if (!ip) {
    // Full: an offer that was never requested is not a lease. The oldest one goes to this
    // client; its first client's REQUEST for it is NAKed (the address is held for another).
    ip = table_.oldestOffer(r.network->pools, [&](Ipv4Address a) {
      return policy_.isReserved(a) || probing_.count(a.value()) != 0;
    });
    if (ip) {
      stats_.offerReclaimed();
      log_->debug("DHCP_OFFER_RECLAIMED ip={} from={} net={}", ip->str(),
                  table_.byIp(*ip)->mac.str(), r.network->name);
    }
  }
  if (!ip) r.reason = Drop::PoolExhausted;
  return ip;
}

Outcome Engine::onDiscover(Request& r) {
  const BootAnswer answer = policy_.decide(factsFor(r));
  if (answer.kind == BootAnswer::Kind::Ignore) return drop(&r, Drop::PolicyIgnore);
  // A client new to the server takes a pool address: those are limited per interface, so a
  // flood cannot churn the pool faster than that. Reservations and known clients are not.
  if (answer.kind == BootAnswer::Kind::Pool && table_.byClient(r.key) == nullptr &&
      !limiter_.allowNewClient(config_.discover_limits, r.ctx.interface, r.now))
    return drop(&r, Drop::DiscoverRateInterface);
  auto ip = chooseAddress(r, answer, r.msg.options.ipv4(opt::kRequestedAddress));
  if (!ip) return drop(&r, r.reason);
  if (probing_.count(ip->value()) != 0) return drop(&r, Drop::ProbePending);
  const Lease* current = table_.byIp(*ip);
  // Probe only addresses new to this client: never reservations, never its own lease.
  const bool probe = config_.ping_before_offer && answer.kind == BootAnswer::Kind::Pool &&
                     (current == nullptr || current->client_key != r.key);
  if (current == nullptr || current->client_key != r.key || current->state != LeaseState::Bound ||
      current->expires <= r.now) {
    table_.put(Lease{*ip, r.key, r.msg.mac(), LeaseState::Offered,
                     r.now + config_.offer_hold.count(), r.network->name, answer.hostname});
  }
  auto reply = replyBase(r, MessageType::Offer);
  reply.yiaddr = *ip;
  addLeaseTimes(reply, *r.network);
  addNetworkOptions(reply, *r.network, answer);
  addBootOptions(reply, r, answer);
  log_->debug("DHCP_OFFER mac={} xid={:#x} ip={} net={}", r.msg.mac().str(), r.msg.xid, ip->str(),
              r.network->name);
  Outcome out = finish(r, std::move(reply), destinationFor(r, reply));
  if (probe && out.reply) {
    out.probe = *ip;
    probing_.insert(ip->value());
  }
  return out;
}

std::vector<LeaseWrite> Engine::probeResult(Ipv4Address ip, bool answered) {
  probing_.erase(ip.value());
  if (!answered) return {};
  stats_.drop(Drop::AddressInUse);
  const Lease* l = table_.byIp(ip);
  Lease quarantined{ip,
                    "",
                    l != nullptr ? l->mac : MacAddress{},
                    LeaseState::Declined,
                    clock_.now() + config_.decline_quarantine.count(),
                    l != nullptr ? l->network : "",
                    ""};
  table_.put(quarantined);
  log_->warn("DHCP_ADDRESS_IN_USE ip={} quarantine={}", ip.str(),
             config_.decline_quarantine.count());
  return {LeaseWrite{LeaseWrite::Op::Put, quarantined}};
}

Outcome Engine::onRequest(Request& r) {
  const auto& o = r.msg.options;
  const auto server_id = o.ipv4(opt::kServerId);
  const auto requested = o.ipv4(opt::kRequestedAddress);
  if (server_id && *server_id != r.server_id) {
    // SELECTING another server's offer: release what we held for this client.
    if (const Lease* l = table_.byClient(r.key); l != nullptr && l->state == LeaseState::Offered)
      table_.remove(l->ip);
    return drop(&r, Drop::OtherServer);
  }
  Ipv4Address ip;
  if (server_id) {  // SELECTING
    if (!requested && r.msg.ciaddr.isUnspecified()) return drop(&r, Drop::BadRequest);
    ip = requested ? *requested : r.msg.ciaddr;
  } else if (requested) {  // INIT-REBOOT
    ip = *requested;
    if (!r.network->subnet.contains(ip)) return nak(r, "wrong network");
  } else if (!r.msg.ciaddr.isUnspecified()) {  // RENEWING (unicast) or REBINDING (broadcast)
    ip = r.msg.ciaddr;
    if (!r.network->subnet.contains(ip)) return drop(&r, Drop::UnknownClient);
  } else {
    return drop(&r, Drop::BadRequest);
  }
  const BootAnswer answer = policy_.decide(factsFor(r));
  if (answer.kind == BootAnswer::Kind::Ignore) return drop(&r, Drop::PolicyIgnore);
  if (!acceptable(r, answer, ip)) return nak(r, "address not available to this client");
  return bind(r, answer, ip);
}

Outcome Engine::bind(Request& r, const BootAnswer& answer, Ipv4Address ip) {
  Outcome out;
  if (const Lease* old = table_.byClient(r.key);
      old != nullptr && old->ip != ip && old->state != LeaseState::Offered) {
    out.writes.push_back(LeaseWrite{LeaseWrite::Op::Remove, *old});
  }
  std::string hostname = answer.hostname;
  if (hostname.empty()) hostname = r.msg.options.string(opt::kHostName).value_or("");
  Lease lease{ip,
              r.key,
              r.msg.mac(),
              LeaseState::Bound,
              r.now + r.network->lease.count(),
              r.network->name,
              log::sanitize(hostname, 63)};
  table_.put(lease);
  out.writes.push_back(LeaseWrite{LeaseWrite::Op::Put, lease});
  auto reply = replyBase(r, MessageType::Ack);
  reply.yiaddr = ip;
  reply.ciaddr = r.msg.ciaddr;
  addLeaseTimes(reply, *r.network);
  addNetworkOptions(reply, *r.network, answer);
  addBootOptions(reply, r, answer);
  log_->info("DHCP_ACK mac={} xid={:#x} ip={} net={} lease={}", r.msg.mac().str(), r.msg.xid,
             ip.str(), r.network->name, r.network->lease.count());
  auto dest = destinationFor(r, reply);
  Outcome sent = finish(r, std::move(reply), dest);
  sent.writes = std::move(out.writes);
  return sent;
}

Outcome Engine::nak(Request& r, std::string_view why) {
  auto reply = replyBase(r, MessageType::Nak);
  reply.options.setString(opt::kMessage, why);
  log_->info("DHCP_NAK mac={} xid={:#x} requested={} why=\"{}\"", r.msg.mac().str(), r.msg.xid,
             r.msg.options.ipv4(opt::kRequestedAddress).value_or(r.msg.ciaddr).str(), why);
  return finish(r, std::move(reply), destinationFor(r, reply));
}

Outcome Engine::onDecline(Request& r) {
  const auto server_id = r.msg.options.ipv4(opt::kServerId);
  if (server_id && *server_id != r.server_id) return drop(&r, Drop::OtherServer);
  const auto ip = r.msg.options.ipv4(opt::kRequestedAddress);
  const Lease* l = ip ? table_.byIp(*ip) : nullptr;
  if (l == nullptr || l->client_key != r.key) return drop(&r, Drop::UnknownClient);
  Lease quarantined{
      *ip,        "", l->mac, LeaseState::Declined, r.now + config_.decline_quarantine.count(),
      l->network, ""};
  table_.put(quarantined);
  log_->warn("DHCP_DECLINE mac={} ip={} quarantine={}", r.msg.mac().str(), ip->str(),
             config_.decline_quarantine.count());
  Outcome out;
  out.writes.push_back(LeaseWrite{LeaseWrite::Op::Put, quarantined});
  out.exchange = exchangeFor(r, Exchange::Kind::Decline, *ip);
  return out;
}

Outcome Engine::onRelease(Request& r) {
  const Lease* l = table_.byIp(r.msg.ciaddr);
  if (l == nullptr || l->client_key != r.key || l->state != LeaseState::Bound)
    return drop(&r, Drop::UnknownClient);
  Lease released = *l;
  released.state = LeaseState::Released;
  released.expires = r.now;
  table_.put(released);
  log_->info("DHCP_RELEASE mac={} ip={}", r.msg.mac().str(), released.ip.str());
  Outcome out;
  out.writes.push_back(LeaseWrite{LeaseWrite::Op::Put, released});
  out.exchange = exchangeFor(r, Exchange::Kind::Release, released.ip);
  return out;
}

Outcome Engine::onInform(Request& r) {
  const BootAnswer answer = policy_.decide(factsFor(r));
  if (answer.kind == BootAnswer::Kind::Ignore) return drop(&r, Drop::PolicyIgnore);
  auto reply = replyBase(r, MessageType::Ack);
  reply.ciaddr = r.msg.ciaddr;
  addNetworkOptions(reply, *r.network, answer);
  addBootOptions(reply, r, answer);
  return finish(r, std::move(reply), destinationFor(r, reply));
}

Exchange Engine::exchangeFor(const Request& r, Exchange::Kind kind, Ipv4Address address) const {
  Exchange e;
  e.kind = kind;
  e.mac = r.msg.mac();
  if (auto cid = r.msg.options.get(opt::kClientId)) e.client_id = toHex(*cid);
  const ClientFacts facts = factsFor(r);
  e.uuid = facts.uuid;
  e.arch = facts.arch;
  e.address = address;
  e.network = r.network != nullptr ? r.network->name : "";
  e.interface = r.ctx.interface;
  e.xid = r.msg.xid;
  e.proxy =
      r.ctx.proxy_port || (r.network != nullptr && r.network->mode == NetworkConfig::Mode::Proxy);
  return e;
}

std::vector<LeaseWrite> Engine::reclaimExpired() {
  std::vector<LeaseWrite> out;
  for (const auto& l : table_.reclaimable(clock_.now(), config_.reclaim_after.count())) {
    if (!owns(l.client_key.empty() ? l.ip.str() : l.client_key)) continue;  // its owner's job
    table_.remove(l.ip);
    out.push_back(LeaseWrite{LeaseWrite::Op::Remove, l});
  }
  if (!out.empty()) log_->info("DHCP_RECLAIM count={}", out.size());
  return out;
}

Outcome Engine::drop(const Request* r, Drop reason, const wire::Message* m) {
  stats_.drop(reason);
  if (r != nullptr) m = &r->msg;
  std::uint64_t suppressed = 0;
  if (drop_log_limit_.allow(suppressed)) {
    log_->debug("DHCP_DROP reason={} mac={} xid={:#x} suppressed={}", toString(reason),
                m != nullptr ? m->mac().str() : "-", m != nullptr ? m->xid : 0, suppressed);
  }
  Outcome out;
  out.drop = toString(reason);
  return out;
}

}  // namespace drover::dhcp
