// What the engine reports to an ExchangeObserver: offers, acks that bind, naks, declines
// and releases, with the client's identity, address, network and boot file.
#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

using wire::MessageType;
namespace opt = wire::opt;

TEST_F(EngineTest, OfferAndAckAreReportedWithTheClientAndBootFile) {
  auto d = discoverFor(10);
  d.options.setU16(opt::kClientArch, 7);
  d.options.setString(opt::kVendorClass, "PXEClient:Arch:00007:UNDI:003016");
  const std::byte id[] = {std::byte{1}, std::byte{0xab}};
  d.options.set(opt::kClientId, wire::ByteView(id));
  auto out = send(d);
  ASSERT_TRUE(out.exchange);
  EXPECT_EQ(out.exchange->kind, Exchange::Kind::Offer);
  EXPECT_EQ(out.exchange->mac, macFor(10));
  EXPECT_EQ(out.exchange->client_id, "01ab");
  EXPECT_EQ(out.exchange->address, ip("192.0.2.10"));
  EXPECT_EQ(out.exchange->network, "rack1");
  EXPECT_EQ(out.exchange->boot_file, "ipxe.efi");
  EXPECT_EQ(out.exchange->arch, 7);
  EXPECT_EQ(out.exchange->interface, "br0");
  EXPECT_FALSE(out.exchange->proxy);
  auto req = requestFor(replyOf(out), 10);
  req.options.set(opt::kClientId, wire::ByteView(id));
  auto acked = send(req);
  ASSERT_TRUE(acked.exchange);
  EXPECT_EQ(acked.exchange->kind, Exchange::Kind::Ack);
  EXPECT_EQ(acked.exchange->address, ip("192.0.2.10"));
  EXPECT_EQ(kindName(acked.exchange->kind), "ack");
}

TEST_F(EngineTest, NakDeclineAndReleaseAreReported) {
  auto req = discoverFor(1);
  req.setType(MessageType::Request);
  req.options.setIpv4(opt::kRequestedAddress, ip("198.51.100.5"));
  auto nak = send(req);
  ASSERT_TRUE(nak.exchange);
  EXPECT_EQ(nak.exchange->kind, Exchange::Kind::Nak);
  EXPECT_EQ(nak.exchange->address, ip("198.51.100.5"));

  auto ack = dora(2);
  auto release = discoverFor(2);
  release.setType(MessageType::Release);
  release.ciaddr = ack.yiaddr;
  auto released = send(release);
  ASSERT_TRUE(released.exchange);
  EXPECT_EQ(released.exchange->kind, Exchange::Kind::Release);
  EXPECT_EQ(released.exchange->address, ack.yiaddr);

  auto again = dora(3);
  auto decline = discoverFor(3);
  decline.setType(MessageType::Decline);
  decline.options.setIpv4(opt::kRequestedAddress, again.yiaddr);
  auto declined = send(decline);
  ASSERT_TRUE(declined.exchange);
  EXPECT_EQ(declined.exchange->kind, Exchange::Kind::Decline);
  EXPECT_EQ(declined.exchange->address, again.yiaddr);
}

TEST_F(EngineTest, InformAndDropsAreNotExchanges) {
  auto inform = discoverFor(1);
  inform.setType(MessageType::Inform);
  inform.ciaddr = ip("192.0.2.77");
  auto out = send(inform);
  EXPECT_TRUE(out.reply);
  EXPECT_FALSE(out.exchange);
  EXPECT_FALSE(send(discoverFor(66)).exchange);  // ignored by policy
}

TEST_F(EngineTest, ProxyOffersAreReportedAsProxy) {
  auto d = discoverFor(40);
  d.options.setU16(opt::kClientArch, 0);
  d.options.setString(opt::kVendorClass, "PXEClient:Arch:00000:UNDI:002001");
  auto out = send(d, onLink("203.0.113.1"));
  ASSERT_TRUE(out.exchange);
  EXPECT_EQ(out.exchange->kind, Exchange::Kind::Offer);
  EXPECT_TRUE(out.exchange->proxy);
  EXPECT_TRUE(out.exchange->address.isUnspecified());
  EXPECT_EQ(out.exchange->boot_file, "undionly.kpxe");
}

// The observer's dispatch.
struct Recorder final : ExchangeObserver {
  std::vector<std::string> seen;
  void onOffer(const Exchange& e) override { seen.push_back("offer " + e.address.str()); }
  void onAck(const Exchange& e) override { seen.push_back("ack " + e.address.str()); }
  void onNak(const Exchange&) override { seen.push_back("nak"); }
};

TEST(ExchangeObserverTest, NotifyCallsTheMethodForTheKind) {
  Recorder r;
  Exchange e;
  e.address = *Ipv4Address::parse("192.0.2.5");
  notify(r, e);
  e.kind = Exchange::Kind::Ack;
  notify(r, e);
  e.kind = Exchange::Kind::Release;  // not overridden: the default does nothing
  notify(r, e);
  EXPECT_EQ(r.seen, (std::vector<std::string>{"offer 192.0.2.5", "ack 192.0.2.5"}));
}

}  // namespace
}  // namespace drover::dhcp::test
