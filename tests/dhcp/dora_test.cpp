// The client's life through the engine: DORA, INIT-REBOOT, renew, rebind, NAK, addressing.
#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

using wire::MessageType;
namespace opt = wire::opt;

TEST_F(EngineTest, DiscoverGetsAnOfferFromThePoolWithNetworkOptions) {
  auto out = send(discoverFor(1));
  auto offer = replyOf(out);
  EXPECT_EQ(offer.messageType(), static_cast<std::uint8_t>(MessageType::Offer));
  EXPECT_EQ(offer.op, 2);
  EXPECT_TRUE((Ipv4Range{ip("192.0.2.100"), ip("192.0.2.103")}.contains(offer.yiaddr)));
  EXPECT_EQ(offer.options.ipv4(opt::kServerId), ip("192.0.2.1"));
  EXPECT_EQ(offer.options.u32(opt::kLeaseTime), 3600u);
  EXPECT_EQ(offer.options.u32(opt::kRenewalTime), 1800u);
  EXPECT_EQ(offer.options.u32(opt::kRebindingTime), 3150u);
  EXPECT_EQ(offer.options.ipv4(opt::kSubnetMask), ip("255.255.255.0"));
  EXPECT_EQ(offer.options.ipv4(opt::kRouter), ip("192.0.2.1"));
  EXPECT_EQ(offer.options.string(opt::kDomainName), "lab.example");
  EXPECT_TRUE(out.writes.empty());  // an offer is not stored
  // No address yet and no broadcast flag: straight to chaddr.
  EXPECT_EQ(out.reply->destination.kind, Destination::Kind::Hardware);
  EXPECT_EQ(out.reply->destination.ip, offer.yiaddr);
  EXPECT_EQ(out.reply->destination.mac, macFor(1));
  EXPECT_EQ(metric("dhcp_packets_total", "type=\"discover\""), 1);
  EXPECT_EQ(metric("dhcp_replies_total", "type=\"offer\""), 1);
}

TEST_F(EngineTest, RequestInSelectingIsAckedAndStored) {
  auto offer = replyOf(send(discoverFor(1)));
  auto out = send(requestFor(offer, 1));
  auto ack = replyOf(out);
  EXPECT_EQ(ack.messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  EXPECT_EQ(ack.yiaddr, offer.yiaddr);
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0].op, LeaseWrite::Op::Put);
  EXPECT_EQ(out.writes[0].lease.ip, offer.yiaddr);
  EXPECT_EQ(out.writes[0].lease.state, LeaseState::Bound);
  EXPECT_EQ(out.writes[0].lease.expires, clock_.now() + 3600);
}

TEST_F(EngineTest, SameClientGetsTheSameAddressAgain) {
  auto first = dora(1);
  auto again = replyOf(send(discoverFor(1)));
  EXPECT_EQ(again.yiaddr, first.yiaddr);
  auto other = replyOf(send(discoverFor(2)));
  EXPECT_NE(other.yiaddr, first.yiaddr);
}

TEST_F(EngineTest, ClientIdentifierWinsOverChaddr) {
  auto with_id = discoverFor(1);
  const std::byte id[] = {std::byte{0}, std::byte{'n'}, std::byte{'1'}};
  with_id.options.set(opt::kClientId, wire::ByteView(id));
  auto offer = replyOf(send(with_id));
  EXPECT_EQ(offer.options.get(opt::kClientId)->size(), 3u);  // echoed (RFC 6842)
  auto req = requestFor(offer, 1);
  req.options.set(opt::kClientId, wire::ByteView(id));
  replyOf(send(req));
  // Same client id from another NIC: same address.
  auto moved = discoverFor(2);
  moved.options.set(opt::kClientId, wire::ByteView(id));
  EXPECT_EQ(replyOf(send(moved)).yiaddr, offer.yiaddr);
}

TEST_F(EngineTest, ReservedClientGetsItsAddressAndHostname) {
  auto ack = dora(10);
  EXPECT_EQ(ack.yiaddr, ip("192.0.2.10"));
  EXPECT_EQ(ack.options.string(opt::kHostName), "master-1");
}

TEST_F(EngineTest, IgnoredClientGetsNothingAndIsCounted) {
  auto out = send(discoverFor(66));
  EXPECT_FALSE(out.reply);
  EXPECT_EQ(out.drop, "policy_ignore");
  EXPECT_EQ(drops("policy_ignore"), 1);
}

TEST_F(EngineTest, PoolExhaustionIsCountedAndExpiredAddressesComeBack) {
  for (std::uint64_t mac = 1; mac <= 4; ++mac) dora(mac);
  auto out = send(discoverFor(5));
  EXPECT_FALSE(out.reply);
  EXPECT_EQ(drops("pool_exhausted"), 1);
  clock_.advance(3601);
  EXPECT_TRUE(replyOf(send(discoverFor(5))).yiaddr.value() != 0);
}

TEST_F(EngineTest, RequestForAnotherServerReleasesTheOffer) {
  auto offer = replyOf(send(discoverFor(1)));
  auto req = requestFor(offer, 1);
  req.options.setIpv4(opt::kServerId, ip("192.0.2.254"));
  auto out = send(req);
  EXPECT_FALSE(out.reply);
  EXPECT_EQ(out.drop, "other_server");
  EXPECT_EQ(engine_->leases().byIp(offer.yiaddr), nullptr);
}

TEST_F(EngineTest, InitRebootIsAckedForItsOwnLeaseAndNakedOtherwise) {
  auto ack = dora(1);
  auto reboot = discoverFor(1);
  reboot.setType(MessageType::Request);
  reboot.options.setIpv4(opt::kRequestedAddress, ack.yiaddr);
  EXPECT_EQ(replyOf(send(reboot)).messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  // Another client asking for that address: NAK, broadcast.
  auto thief = discoverFor(2);
  thief.setType(MessageType::Request);
  thief.options.setIpv4(opt::kRequestedAddress, ack.yiaddr);
  auto out = send(thief);
  EXPECT_EQ(replyOf(out).messageType(), static_cast<std::uint8_t>(MessageType::Nak));
  EXPECT_EQ(out.reply->destination.kind, Destination::Kind::Broadcast);
  EXPECT_TRUE(out.writes.empty());
  // An address from another subnet: NAK (authoritative for its own subnets).
  auto moved = discoverFor(3);
  moved.setType(MessageType::Request);
  moved.options.setIpv4(opt::kRequestedAddress, ip("10.9.9.9"));
  EXPECT_EQ(replyOf(send(moved)).messageType(), static_cast<std::uint8_t>(MessageType::Nak));
}

TEST_F(EngineTest, InitRebootAfterLosingStateReallocatesAFreeAddress) {
  auto reboot = discoverFor(1);
  reboot.setType(MessageType::Request);
  reboot.options.setIpv4(opt::kRequestedAddress, ip("192.0.2.101"));
  auto out = send(reboot);
  EXPECT_EQ(replyOf(out).yiaddr, ip("192.0.2.101"));
  EXPECT_EQ(out.writes.size(), 1u);
}

TEST_F(EngineTest, RenewingIsUnicastToCiaddrAndExtendsTheLease) {
  auto ack = dora(1);
  clock_.advance(1800);
  auto renew = discoverFor(1);
  renew.setType(MessageType::Request);
  renew.ciaddr = ack.yiaddr;
  auto out = send(renew);
  auto reply = replyOf(out);
  EXPECT_EQ(reply.messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  EXPECT_EQ(reply.ciaddr, ack.yiaddr);
  EXPECT_EQ(out.reply->destination.kind, Destination::Kind::Unicast);
  EXPECT_EQ(out.reply->destination.ip, ack.yiaddr);
  EXPECT_EQ(out.reply->destination.port, 68);
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0].lease.expires, clock_.now() + 3600);
}

TEST_F(EngineTest, RebindingForAnAddressHeldByAnotherClientIsNaked) {
  auto ack = dora(1);
  auto rebind = discoverFor(2);
  rebind.setType(MessageType::Request);
  rebind.flags = wire::kBroadcastFlag;
  rebind.ciaddr = ack.yiaddr;
  auto out = send(rebind);
  EXPECT_EQ(replyOf(out).messageType(), static_cast<std::uint8_t>(MessageType::Nak));
  EXPECT_EQ(out.reply->destination.kind, Destination::Kind::Broadcast);
}

TEST_F(EngineTest, BroadcastFlagMakesRepliesBroadcast) {
  auto d = discoverFor(1);
  d.flags = wire::kBroadcastFlag;
  auto out = send(d);
  EXPECT_EQ(out.reply->destination.kind, Destination::Kind::Broadcast);
  EXPECT_EQ(out.reply->destination.port, 68);
}

TEST_F(EngineTest, MaxMessageSizeBoundsTheReply) {
  auto out = send(discoverFor(1));
  EXPECT_LE(out.reply->payload.size(), wire::kDefaultMaxReply);
  EXPECT_GE(out.reply->payload.size(), wire::kMinBootpSize);
}

}  // namespace
}  // namespace drover::dhcp::test
