// DECLINE, RELEASE, INFORM, expiry, reclaim and restore.
#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

using wire::MessageType;
namespace opt = wire::opt;

TEST_F(EngineTest, DeclineQuarantinesTheAddress) {
  auto ack = dora(1);
  auto decline = discoverFor(1);
  decline.setType(MessageType::Decline);
  decline.options.setIpv4(opt::kRequestedAddress, ack.yiaddr);
  decline.options.setIpv4(opt::kServerId, ip("192.0.2.1"));
  auto out = send(decline);
  EXPECT_FALSE(out.reply);
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0].lease.state, LeaseState::Declined);
  EXPECT_EQ(metric("dhcp_packets_total", "type=\"decline\""), 1);
  // The client comes back and gets another address; nobody gets the declined one.
  for (std::uint64_t mac = 1; mac <= 3; ++mac) EXPECT_NE(dora(mac).yiaddr, ack.yiaddr);
  EXPECT_FALSE(send(discoverFor(4)).reply);  // pool of 4, one quarantined
  clock_.advance(3601);
  EXPECT_EQ(replyOf(send(discoverFor(4))).yiaddr, ack.yiaddr);
}

TEST_F(EngineTest, PingBeforeOfferProbesNewPoolAddressesOnly) {
  auto config = defaultConfig();
  config.ping_before_offer = true;
  rebuild(config);
  auto out = send(discoverFor(1));
  ASSERT_TRUE(out.probe.has_value());
  const auto probed = *out.probe;
  EXPECT_EQ(replyOf(out).yiaddr, probed);
  EXPECT_FALSE(send(discoverFor(10)).probe);              // a reservation is never probed
  EXPECT_EQ(send(discoverFor(1)).drop, "probe_pending");  // a retransmission waits for it
  // The probe was answered: the address is quarantined and the client offered another.
  auto writes = engine_->probeResult(probed, true);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].lease.state, LeaseState::Declined);
  EXPECT_EQ(drops("address_in_use"), 1);
  auto again = send(discoverFor(1));
  EXPECT_NE(replyOf(again).yiaddr, probed);
  EXPECT_TRUE(again.probe);
  EXPECT_TRUE(engine_->probeResult(*again.probe, false).empty());
  // Once bound, the client's own address is not probed again.
  replyOf(send(requestFor(replyOf(again), 1)));
  EXPECT_FALSE(send(discoverFor(1)).probe);
}

TEST_F(EngineTest, ReleaseFreesTheAddressButRemembersTheClient) {
  auto ack = dora(1);
  auto release = discoverFor(1);
  release.setType(MessageType::Release);
  release.ciaddr = ack.yiaddr;
  release.options.setIpv4(opt::kServerId, ip("192.0.2.1"));
  auto out = send(release);
  EXPECT_FALSE(out.reply);
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0].lease.state, LeaseState::Released);
  EXPECT_EQ(replyOf(send(discoverFor(1))).yiaddr, ack.yiaddr);
  // A release for someone else's address is ignored.
  auto forged = discoverFor(2);
  forged.setType(MessageType::Release);
  forged.ciaddr = ack.yiaddr;
  EXPECT_EQ(send(forged).drop, "unknown_client");
}

TEST_F(EngineTest, InformGetsOptionsButNoLease) {
  auto inform = discoverFor(1);
  inform.setType(MessageType::Inform);
  inform.ciaddr = ip("192.0.2.50");
  auto out = send(inform);
  auto ack = replyOf(out);
  EXPECT_EQ(ack.messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  EXPECT_TRUE(ack.yiaddr.isUnspecified());
  EXPECT_FALSE(ack.options.has(opt::kLeaseTime));
  EXPECT_EQ(ack.options.ipv4(opt::kRouter), ip("192.0.2.1"));
  EXPECT_EQ(out.reply->destination.ip, ip("192.0.2.50"));
  EXPECT_TRUE(out.writes.empty());
}

TEST_F(EngineTest, ExpiredLeasesAreReclaimedAfterTheGrace) {
  auto ack = dora(1);
  EXPECT_TRUE(engine_->reclaimExpired().empty());
  clock_.advance(3600 + 86400);
  auto writes = engine_->reclaimExpired();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].op, LeaseWrite::Op::Remove);
  EXPECT_EQ(writes[0].lease.ip, ack.yiaddr);
  EXPECT_EQ(engine_->leases().byIp(ack.yiaddr), nullptr);
}

TEST_F(EngineTest, RestoredLeasesAreHonoured) {
  Lease held{ip("192.0.2.100"),
             Engine::clientKey(discoverFor(1)),
             macFor(1),
             LeaseState::Bound,
             clock_.now() + 600,
             "rack1",
             ""};
  engine_->restore({held});
  EXPECT_EQ(replyOf(send(discoverFor(1))).yiaddr, held.ip);
  EXPECT_NE(replyOf(send(discoverFor(2))).yiaddr, held.ip);
}

}  // namespace
}  // namespace drover::dhcp::test

namespace drover::dhcp::test {
namespace {

// The lease view other threads read (boot tokens bound to the lease holder) follows the
// engine: bound leases in, released, declined, reclaimed and forgotten ones out, learned
// ones in.
TEST_F(EngineTest, LeaseViewMirrorsTheBoundLeases) {
  auto before = dora(1);  // bound before the view is attached: handed over on attach
  LeaseView view;
  engine_->setLeaseView(&view);
  const auto now = clock_.now();
  EXPECT_TRUE(view.holds(macFor(1), before.yiaddr, now));
  EXPECT_FALSE(view.holds(macFor(2), before.yiaddr, now));
  auto ack = dora(2);
  EXPECT_TRUE(view.holds(macFor(2), ack.yiaddr, now));
  EXPECT_FALSE(view.holds(macFor(2), before.yiaddr, now));
  // An offer is no lease.
  auto offer = replyOf(send(discoverFor(3)));
  EXPECT_FALSE(view.holds(macFor(3), offer.yiaddr, now));
  // Released: gone.
  auto release = discoverFor(2);
  release.setType(wire::MessageType::Release);
  release.ciaddr = ack.yiaddr;
  release.options.setIpv4(wire::opt::kServerId, ip("192.0.2.1"));
  send(release);
  EXPECT_FALSE(view.holds(macFor(2), ack.yiaddr, now));
  // Expired: not held, then reclaimed.
  clock_.advance(3601);
  EXPECT_FALSE(view.holds(macFor(1), before.yiaddr, clock_.now()));
  // Another server's lease, learned; then forgotten.
  Lease theirs{ip("192.0.2.120"), "k9", macFor(9), LeaseState::Bound, clock_.now() + 600, "rack1", ""};
  engine_->learn(theirs);
  EXPECT_TRUE(view.holds(macFor(9), theirs.ip, clock_.now()));
  engine_->forget(theirs.ip, "k9");
  EXPECT_FALSE(view.holds(macFor(9), theirs.ip, clock_.now()));
  engine_->setLeaseView(nullptr);
}

}  // namespace
}  // namespace drover::dhcp::test
