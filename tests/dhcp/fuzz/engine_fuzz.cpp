// Fuzz target: arbitrary datagrams through the whole engine (decode, policy, lease table,
// reply building) on one long-lived engine, so state built by earlier inputs is exercised.
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  PacketContext ctx;
  ctx.interface = "fz0";
  ctx.interface_address = Ipv4Address(size % 2 ? 0xc0000201 : 0xcb007101);
  ctx.proxy_port = size % 3 == 0;
  ctx.source = Ipv4Address(0xc0000299);
  auto out =
      engine().handle(dhcp::wire::ByteView(reinterpret_cast<const std::byte*>(data), size), ctx);
  if (out.reply) {
    if (out.reply->payload.size() > dhcp::wire::kMaxUdpPayload) std::abort();
    if (!dhcp::wire::decode(out.reply->payload).ok())
      std::abort();  // we only send what we can read
  } else if (out.drop.empty() && out.writes.empty()) {
    std::abort();  // silence must be a counted drop
  }
  if (size % 5 == 0) (void)engine().reclaimExpired();
  return 0;
}
