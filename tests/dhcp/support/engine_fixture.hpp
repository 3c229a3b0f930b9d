// An engine over a manual clock, a static policy and its own metrics registry, plus
// helpers to drive a client through it. For unit tests: no sockets, no real time.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "dhcp/server/engine.hpp"
#include "tests/dhcp/support/packets.hpp"
#include "tests/dhcp/support/static_policy.hpp"

namespace drover::dhcp::test {

class ManualClock final : public Clock {
 public:
  std::int64_t now() const override { return now_; }
  void advance(std::int64_t seconds) { now_ += seconds; }

 private:
  std::int64_t now_ = 1'700'000'000;
};

inline Ipv4Address ip(const char* text) {
  return *Ipv4Address::parse(text);
}

inline ServerConfig defaultConfig() {
  ServerConfig c;
  NetworkConfig rack1;
  rack1.name = "rack1";
  rack1.subnet = *Cidr::parse("192.0.2.0/24");
  rack1.pools = {*Ipv4Range::parse("192.0.2.100-192.0.2.103")};
  rack1.gateway = ip("192.0.2.1");
  rack1.dns = {ip("192.0.2.1")};
  rack1.domain = "lab.example";
  rack1.lease = std::chrono::seconds(3600);
  NetworkConfig rack2;
  rack2.name = "rack2";
  rack2.subnet = *Cidr::parse("198.51.100.0/24");
  rack2.pools = {*Ipv4Range::parse("198.51.100.100-198.51.100.199")};
  rack2.gateway = ip("198.51.100.1");
  NetworkConfig proxy;
  proxy.name = "site";
  proxy.subnet = *Cidr::parse("203.0.113.0/24");
  proxy.mode = NetworkConfig::Mode::Proxy;
  c.networks = {rack1, rack2, proxy};
  return c;
}

inline StaticBootPolicy::Config defaultPolicy() {
  StaticBootPolicy::Config p;
  p.reservations.push_back(
      StaticReservation{macFor(10), std::nullopt, ip("192.0.2.10"), "master-1"});
  p.ignored.push_back(macFor(66));
  p.http_base = "http://192.0.2.1:8080";
  return p;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { rebuild(); }

  void rebuild(ServerConfig config = defaultConfig(),
               StaticBootPolicy::Config policy = defaultPolicy()) {
    engine_.reset();
    registry_ = std::make_unique<metrics::Registry>();
    policy_ = std::make_unique<StaticBootPolicy>(std::move(policy));
    engine_ = std::make_unique<Engine>(std::move(config), *policy_, clock_, *registry_);
  }

  static PacketContext onLink(const char* if_addr = "192.0.2.1") {
    PacketContext ctx;
    ctx.interface = "br0";
    ctx.interface_address = ip(if_addr);
    return ctx;
  }

  Outcome send(const wire::Message& m, const PacketContext& ctx = onLink()) {
    auto bytes = wire::encode(m, wire::kMaxUdpPayload);
    EXPECT_TRUE(bytes.ok());
    return engine_->handle(*bytes, ctx);
  }

  static wire::Message replyOf(const Outcome& o) {
    EXPECT_TRUE(o.reply.has_value()) << "dropped: " << o.drop;
    if (!o.reply) return {};
    auto m = wire::decode(o.reply->payload);
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : wire::Message{};
  }

  static wire::Message requestFor(const wire::Message& offer, std::uint64_t mac) {
    wire::Message req = discoverFor(mac);
    req.setType(wire::MessageType::Request);
    req.options.setIpv4(wire::opt::kRequestedAddress, offer.yiaddr);
    req.options.setIpv4(wire::opt::kServerId, *offer.options.ipv4(wire::opt::kServerId));
    return req;
  }

  // DISCOVER, OFFER, REQUEST, ACK; returns the ACK.
  wire::Message dora(std::uint64_t mac, const PacketContext& ctx = onLink()) {
    auto offer = replyOf(send(discoverFor(mac), ctx));
    return replyOf(send(requestFor(offer, mac), ctx));
  }

  std::int64_t metric(const std::string& name, const std::string& labels) const {
    return registry_->valueForTest(name, labels);
  }
  std::int64_t drops(const std::string& reason) const {
    return metric("dhcp_drops_total", "reason=\"" + reason + "\"");
  }

  ManualClock clock_;
  std::unique_ptr<metrics::Registry> registry_;
  std::unique_ptr<StaticBootPolicy> policy_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace drover::dhcp::test
