// Building replies: header, network and boot options, addressing (RFC 2131 4.1), and the
// proxyDHCP answers (PXE specification 2.1, RFC 4578).
#include <algorithm>

#include "dhcp/server/engine.hpp"
#include "dhcp/server/engine_request.hpp"

namespace drover::dhcp {

using wire::MessageType;
namespace opt = wire::opt;

namespace {

constexpr std::uint8_t kPxeDiscoveryControl = 6;   // PXE vendor option 43.6
constexpr std::uint8_t kPxeBootFileFromOffer = 8;  // bit 3: boot the file named, no menu
constexpr std::size_t kMaxHostName = 63;

bool startsWith(const std::string& s, std::string_view p) {
  return s.rfind(p, 0) == 0;
}

}  // namespace

wire::Message Engine::replyBase(const Request& r, MessageType type) const {
  wire::Message reply;
  reply.op = static_cast<std::uint8_t>(wire::Op::BootReply);
  reply.htype = r.msg.htype;
  reply.hlen = r.msg.hlen;
  reply.xid = r.msg.xid;
  reply.flags = r.msg.flags;
  reply.giaddr = r.msg.giaddr;
  reply.chaddr = r.msg.chaddr;
  reply.setType(type);
  reply.options.setIpv4(opt::kServerId, r.server_id);
  if (auto cid = r.msg.options.get(opt::kClientId))
    reply.options.set(opt::kClientId, *cid);               // RFC 6842
  if (auto rai = r.msg.options.get(opt::kRelayAgentInfo))  // RFC 3046 2.2: echoed, placed last
    reply.options.set(opt::kRelayAgentInfo, *rai);
  return reply;
}

void Engine::addLeaseTimes(wire::Message& reply, const NetworkConfig& net) const {
  const auto lease =
      static_cast<std::uint32_t>(std::min<std::int64_t>(net.lease.count(), 0xffffffffLL));
  reply.options.setU32(opt::kLeaseTime, lease);
  reply.options.setU32(opt::kRenewalTime, lease / 2);  // T1: 0.5
  reply.options.setU32(opt::kRebindingTime,
                       static_cast<std::uint32_t>(lease * 7ULL / 8));  // T2: 0.875
}

void Engine::addNetworkOptions(wire::Message& reply, const NetworkConfig& net,
                               const BootAnswer& answer) const {
  reply.options.setIpv4(opt::kSubnetMask, net.subnet.netmask());
  reply.options.setIpv4(opt::kBroadcastAddress, net.subnet.broadcast());
  if (net.gateway) reply.options.setIpv4(opt::kRouter, *net.gateway);
  if (!net.dns.empty()) reply.options.setIpv4List(opt::kDomainServer, net.dns);
  if (!net.domain.empty()) reply.options.setString(opt::kDomainName, net.domain);
  if (!answer.hostname.empty())
    reply.options.setString(opt::kHostName,
                            std::string_view(answer.hostname).substr(0, kMaxHostName));
}

void Engine::addBootOptions(wire::Message& reply, const Request& r,
                            const BootAnswer& answer) const {
  if (answer.boot_file.empty()) return;
  const Ipv4Address next = answer.next_server.isUnspecified() ? r.server_id : answer.next_server;
  reply.siaddr = next;
  if (answer.boot_file.size() < wire::kFileSize) reply.file = answer.boot_file;
  reply.options.setString(opt::kTftpServer, next.str());
  reply.options.setString(opt::kBootfile, answer.boot_file);
  if (answer.http_client) reply.options.setString(opt::kVendorClass, "HTTPClient");
  const auto facts_ipxe =
      r.msg.options.string(opt::kUserClass) == std::optional<std::string>("iPXE") ||
      r.msg.options.has(opt::kIpxeEncap);
  if (facts_ipxe) {
    // 175.176 no-pxedhcp = 1: iPXE need not wait for proxyDHCP offers.
    wire::Options encap;
    encap.setU8(wire::ipxe::kNoPxeDhcp, 1);
    reply.options.set(opt::kIpxeEncap, wire::encodeSubOptions(encap));
  }
}

// RFC 2131 4.3.1 and RFC 2132 9.8: a client that sends a parameter request list (55) gets
// what it asked for, in its order, plus what the protocol requires (53, 54, 51, T1/T2, 56)
// and what its boot decision needs (60 PXEClient/HTTPClient, 43, 97, 175; 67 when the
// file name does not fit the header). The network's always_send list is added; echoes of
// 61 (RFC 6842) and 82 (RFC 3046, last) are kept. Without a list, everything configured.
void Engine::applyParameterList(const Request& r, wire::Message& reply) const {
  const auto prl = r.msg.options.get(opt::kParameterList);
  if (!prl || prl->empty()) return;
  const wire::Options& built = reply.options;
  wire::Options kept;
  auto take = [&](std::uint8_t code) {
    if (kept.has(code)) return;
    if (auto v = built.get(code)) kept.set(code, *v);
  };
  for (auto code : {opt::kMessageType, opt::kServerId, opt::kLeaseTime, opt::kRenewalTime,
                    opt::kRebindingTime, opt::kMessage})
    take(code);
  for (auto code : *prl) take(std::to_integer<std::uint8_t>(code));
  if (r.network != nullptr)
    for (auto code : r.network->always_send) take(code);
  for (auto code : {opt::kVendorClass, opt::kVendorSpecific, opt::kClientUuid, opt::kIpxeEncap})
    take(code);
  if (reply.file.empty()) take(opt::kBootfile);
  take(opt::kClientId);
  take(opt::kRelayAgentInfo);
  reply.options = std::move(kept);
}

Destination Engine::destinationFor(const Request& r, const wire::Message& reply) const {
  Destination d;
  const auto& m = r.msg;
  const bool nak = reply.messageType() == static_cast<std::uint8_t>(MessageType::Nak);
  if (r.ctx.proxy_port) {  // PXE boot server request: answer where it came from
    d.kind = Destination::Kind::Unicast;
    d.ip = r.ctx.source;
    d.port = r.ctx.source_port;
  } else if (!m.giaddr.isUnspecified()) {  // through a relay, to its server port
    d.kind = Destination::Kind::Unicast;
    d.ip = m.giaddr;
    d.port = config_.server_port;
  } else if (!m.ciaddr.isUnspecified() && !nak) {
    d.kind = Destination::Kind::Unicast;
    d.ip = m.ciaddr;
    d.port = config_.client_port;
  } else if (nak || m.broadcast() || reply.yiaddr.isUnspecified()) {
    d.kind = Destination::Kind::Broadcast;
    d.ip = Ipv4Address(0xffffffff);
    d.port = config_.client_port;
  } else {
    d.kind = Destination::Kind::Hardware;
    d.ip = reply.yiaddr;
    d.port = config_.client_port;
    d.mac = m.mac();
  }
  return d;
}

// The observer's view of a reply: OFFER, NAK, and an ACK that binds (or answers a proxy
// boot request); an INFORM's ACK changes nothing and is not reported.
std::optional<Exchange> Engine::exchangeOf(const Request& r, const wire::Message& reply) const {
  const auto type = static_cast<MessageType>(*reply.messageType());
  Exchange::Kind kind = Exchange::Kind::Offer;
  Ipv4Address address = reply.yiaddr;
  if (type == MessageType::Nak) {
    kind = Exchange::Kind::Nak;
    address = r.msg.options.ipv4(opt::kRequestedAddress).value_or(r.msg.ciaddr);
  } else if (type == MessageType::Ack) {
    kind = Exchange::Kind::Ack;
    if (address.isUnspecified() && !r.ctx.proxy_port) return std::nullopt;
  } else if (type != MessageType::Offer) {
    return std::nullopt;
  }
  Exchange e = exchangeFor(r, kind, address);
  e.boot_file =
      !reply.file.empty() ? reply.file : reply.options.string(opt::kBootfile).value_or("");
  return e;
}

Outcome Engine::finish(const Request& r, wire::Message reply, Destination dest) {
  if (dest.kind == Destination::Kind::Unicast && !r.msg.giaddr.isUnspecified() &&
      reply.messageType() == static_cast<std::uint8_t>(MessageType::Nak))
    reply.flags |= wire::kBroadcastFlag;  // RFC 2131 4.1: relay broadcasts a NAK
  applyParameterList(r, reply);
  auto bytes = wire::encode(reply, wire::maxReplySize(r.msg));
  if (!bytes.ok()) return drop(&r, Drop::EncodeFailed);
  Outcome out;
  const auto type = *reply.messageType();
  out.exchange = exchangeOf(r, reply);
  out.reply = Reply{std::move(*bytes), dest, r.ctx.interface, static_cast<MessageType>(type)};
  stats_.replied(type);
  return out;
}

Outcome Engine::onProxy(Request& r) {
  const auto type = *r.msg.messageType();
  const bool from_4011 = r.ctx.proxy_port;
  if (type == static_cast<std::uint8_t>(MessageType::Request) && !from_4011)
    return drop(&r, Drop::ProxyNotOurs);
  if (type != static_cast<std::uint8_t>(MessageType::Discover) &&
      type != static_cast<std::uint8_t>(MessageType::Request) &&
      type != static_cast<std::uint8_t>(MessageType::Inform))
    return drop(&r, Drop::ProxyMode);
  const ClientFacts facts = factsFor(r);
  const bool pxe =
      startsWith(facts.vendor_class, "PXEClient") || startsWith(facts.vendor_class, "HTTPClient");
  if (!pxe && !facts.is_ipxe) return drop(&r, Drop::NotPxeClient);
  const BootAnswer answer = policy_.decide(facts);
  if (answer.kind == BootAnswer::Kind::Ignore) return drop(&r, Drop::PolicyIgnore);
  if (answer.boot_file.empty()) return drop(&r, Drop::NotPxeClient);
  // Never a lease: yiaddr stays 0, no lease time, no network options.
  auto reply =
      replyBase(r, type == static_cast<std::uint8_t>(MessageType::Discover) ? MessageType::Offer
                                                                            : MessageType::Ack);
  addBootOptions(reply, r, answer);
  if (!answer.http_client) reply.options.setString(opt::kVendorClass, "PXEClient");
  wire::Options pxe_opts;
  pxe_opts.setU8(kPxeDiscoveryControl, kPxeBootFileFromOffer);
  reply.options.set(opt::kVendorSpecific, wire::encodeSubOptions(pxe_opts));
  if (auto uuid = r.msg.options.get(opt::kClientUuid)) reply.options.set(opt::kClientUuid, *uuid);
  log_->info("DHCP_PROXY_{} mac={} xid={:#x} file={}", from_4011 ? "ACK" : "OFFER",
             r.msg.mac().str(), r.msg.xid, log::sanitize(answer.boot_file, 128));
  return finish(r, std::move(reply), destinationFor(r, reply));
}

}  // namespace drover::dhcp
