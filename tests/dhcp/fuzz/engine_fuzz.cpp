// Fuzz target: arbitrary datagrams through the whole engine (decode, policy, lease table,
// reply building) on one long-lived engine, so state built by earlier inputs is exercised.
// Whole exchanges: when the engine offers, the harness goes on as the client would, from
// the input's own message (its options and identity kept): REQUEST in the selecting state
// (server id and requested address) or renewing (ciaddr), then, as the input's last byte
// says, RELEASE, DECLINE, INFORM or a second REQUEST for another address. Each reply must
// decode; silence must be a counted drop.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "dhcp/server/engine.hpp"
#include "tests/dhcp/support/static_policy.hpp"

namespace {

using namespace drover;
using namespace drover::dhcp;
using drover::dhcp::test::StaticBootPolicy;
using drover::dhcp::test::StaticReservation;
namespace dw = drover::dhcp::wire;

class StepClock final : public Clock {
 public:
  std::int64_t now() const override { return now_ += 7; }

 private:
  mutable std::int64_t now_ = 1'700'000'000;
};

Engine& engine() {
  static const bool quiet = (log::setup("off"), true);
  (void)quiet;
  static metrics::Registry registry;
  static StepClock clock;
  static StaticBootPolicy policy([] {
    StaticBootPolicy::Config p;
    p.reservations.push_back(StaticReservation{MacAddress({0x52, 0x54, 0, 0, 0, 1}), std::nullopt,
                                               Ipv4Address(0xc000020a), "n1"});
    p.http_base = "http://192.0.2.1:8080";
    return p;
  }());
  static Engine e(
      [] {
        ServerConfig c;
        NetworkConfig a;
        a.name = "a";
        a.subnet = Cidr(Ipv4Address(0xc0000200), 24);
        a.pools = {Ipv4Range{Ipv4Address(0xc0000264), Ipv4Address(0xc0000270)}};
        a.lease = std::chrono::seconds(60);
        NetworkConfig p;
        p.name = "p";
        p.subnet = Cidr(Ipv4Address(0xcb007100), 24);
        p.mode = NetworkConfig::Mode::Proxy;
        c.networks = {a, p};
        return c;
      }(),
      policy, clock, registry);
  return e;
}

void check(bool cond) {
  if (!cond) std::abort();
}

std::optional<dw::Message> feed(const dw::Message& m, const PacketContext& ctx) {
  auto bytes = dw::encode(m, dw::kMaxMessageSize);
  if (!bytes) return std::nullopt;
  auto out = engine().handle(*bytes, ctx);
  if (!out.reply) {
    check(!out.drop.empty() || !out.writes.empty());
    return std::nullopt;
  }
  auto reply = dw::decode(out.reply->payload);
  check(reply.ok() && reply->xid == m.xid);
  return *reply;
}

// The rest of the exchange after an OFFER, from the client's DISCOVER (or whatever the
// input was that got an offer).
void exchange(dw::Message msg, const dw::Message& offer, std::uint8_t how,
              const PacketContext& ctx) {
  const auto server = offer.options.ipv4(dw::opt::kServerId);
  msg.op = 1;
  msg.setType(dw::MessageType::Request);
  if (how & 1) {  // renewing: ciaddr, no server id (RFC 2131 4.3.2)
    msg.ciaddr = offer.yiaddr;
    msg.options.erase(dw::opt::kServerId);
    msg.options.erase(dw::opt::kRequestedAddress);
  } else {
    if (server) msg.options.setIpv4(dw::opt::kServerId, *server);
    msg.options.setIpv4(dw::opt::kRequestedAddress, offer.yiaddr);
  }
  auto ack = feed(msg, ctx);
  if (!ack) return;
  check(ack->messageType() == std::uint8_t(dw::MessageType::Ack) ||
        ack->messageType() == std::uint8_t(dw::MessageType::Nak));
  if (ack->messageType() != std::uint8_t(dw::MessageType::Ack)) return;
  switch ((how >> 1) & 3) {
    case 0:  // RELEASE
      msg.setType(dw::MessageType::Release);
      msg.ciaddr = ack->yiaddr;
      msg.options.erase(dw::opt::kRequestedAddress);
      (void)feed(msg, ctx);
      break;
    case 1:  // DECLINE
      msg.setType(dw::MessageType::Decline);
      msg.ciaddr = Ipv4Address();
      msg.options.setIpv4(dw::opt::kRequestedAddress, ack->yiaddr);
      (void)feed(msg, ctx);
      break;
    case 2:  // INFORM from the bound address
      msg.setType(dw::MessageType::Inform);
      msg.ciaddr = ack->yiaddr;
      msg.options.erase(dw::opt::kRequestedAddress);
      msg.options.erase(dw::opt::kServerId);
      (void)feed(msg, ctx);
      break;
    default:  // INIT-REBOOT for another address
      msg.ciaddr = Ipv4Address();
      msg.options.erase(dw::opt::kServerId);
      msg.options.setIpv4(dw::opt::kRequestedAddress,
                          Ipv4Address(ack->yiaddr.value() ^ (how >> 3)));
      (void)feed(msg, ctx);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  PacketContext ctx;
  ctx.interface = "fz0";
  ctx.interface_address = Ipv4Address(size % 2 ? 0xc0000201 : 0xcb007101);
  ctx.proxy_port = size % 3 == 0;
  ctx.source = Ipv4Address(0xc0000299);
  const dw::ByteView in(reinterpret_cast<const std::byte*>(data), size);
  auto out = engine().handle(in, ctx);
  if (out.reply) {
    check(out.reply->payload.size() <= dw::kMaxUdpPayload);
    auto reply = dw::decode(out.reply->payload);
    check(reply.ok());  // we only send what we can read
    if (reply->messageType() == std::uint8_t(dw::MessageType::Offer) &&
        !reply->yiaddr.isUnspecified()) {
      auto request = dw::decode(in);
      check(request.ok());  // it was answered, so it decoded
      exchange(*request, *reply, data[size - 1], ctx);
    }
  } else {
    check(!out.drop.empty() || !out.writes.empty());  // silence must be a counted drop
  }
  if (size % 5 == 0) (void)engine().reclaimExpired();
  return 0;
}
