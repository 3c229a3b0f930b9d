// Several pool ranges in one network: allocation walks them in order, an exhausted range
// spills into the next, and leases, reservations and quarantine work across them.
#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

using wire::MessageType;
namespace opt = wire::opt;

class PoolsTest : public EngineTest {
 protected:
  void SetUp() override {
    auto config = defaultConfig();
    config.networks[0].pools = {*Ipv4Range::parse("192.0.2.100-192.0.2.101"),
                                *Ipv4Range::parse("192.0.2.50-192.0.2.51")};
    auto policy = defaultPolicy();
    // A reservation inside the second range is never handed to anyone else.
    policy.reservations.push_back(
        StaticReservation{macFor(11), std::nullopt, ip("192.0.2.50"), "master-2"});
    rebuild(config, policy);
  }
};

TEST_F(PoolsTest, TheFirstRangeIsUsedFirstAndSpillsIntoTheNext) {
  EXPECT_EQ(dora(1).yiaddr, ip("192.0.2.100"));
  EXPECT_EQ(dora(2).yiaddr, ip("192.0.2.101"));
  EXPECT_EQ(dora(3).yiaddr, ip("192.0.2.51"));  // .50 is reserved for master-2
  // Every range exhausted: counted, no offer.
  auto out = send(discoverFor(4));
  EXPECT_FALSE(out.reply);
  EXPECT_EQ(out.drop, "pool_exhausted");
  EXPECT_EQ(drops("pool_exhausted"), 1);
  // The reservation inside the second range still works.
  EXPECT_EQ(dora(11).yiaddr, ip("192.0.2.50"));
}

TEST_F(PoolsTest, RenewAndInitRebootAreAcceptedInTheSecondRange) {
  dora(1);
  dora(2);
  auto ack = dora(3);
  ASSERT_EQ(ack.yiaddr, ip("192.0.2.51"));
  auto renew = discoverFor(3);
  renew.setType(MessageType::Request);
  renew.ciaddr = ack.yiaddr;
  auto renewed = replyOf(send(renew));
  EXPECT_EQ(renewed.messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  EXPECT_EQ(renewed.yiaddr, ack.yiaddr);
  auto reboot = discoverFor(3);
  reboot.setType(MessageType::Request);
  reboot.options.setIpv4(opt::kRequestedAddress, ack.yiaddr);
  EXPECT_EQ(replyOf(send(reboot)).messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  // An address between the ranges is not the pool's: NAK.
  auto outside = discoverFor(5);
  outside.setType(MessageType::Request);
  outside.options.setIpv4(opt::kRequestedAddress, ip("192.0.2.70"));
  EXPECT_EQ(replyOf(send(outside)).messageType(), static_cast<std::uint8_t>(MessageType::Nak));
}

TEST_F(PoolsTest, DeclineInTheSecondRangeQuarantinesAcrossRanges) {
  dora(1);
  dora(2);
  auto ack = dora(3);
  auto decline = discoverFor(3);
  decline.setType(MessageType::Decline);
  decline.options.setIpv4(opt::kRequestedAddress, ack.yiaddr);
  decline.options.setIpv4(opt::kServerId, ip("192.0.2.1"));
  EXPECT_FALSE(send(decline).reply);
  EXPECT_FALSE(send(discoverFor(3)).reply);  // the only free address is quarantined
  clock_.advance(3601);                      // leases of 1 and 2 expired too
  auto again = replyOf(send(discoverFor(4)));
  EXPECT_TRUE(again.yiaddr == ip("192.0.2.100") || again.yiaddr == ip("192.0.2.101") ||
              again.yiaddr == ip("192.0.2.51"));
}

TEST_F(PoolsTest, RestoredLeasesInEveryRangeAreKept) {
  engine_->restore({Lease{ip("192.0.2.100"), "k1", macFor(21), LeaseState::Bound,
                          clock_.now() + 600, "rack1", ""},
                    Lease{ip("192.0.2.51"), "k2", macFor(22), LeaseState::Bound,
                          clock_.now() + 600, "rack1", ""}});
  EXPECT_EQ(dora(1).yiaddr, ip("192.0.2.101"));
  EXPECT_FALSE(send(discoverFor(2)).reply);
}

}  // namespace
}  // namespace drover::dhcp::test
