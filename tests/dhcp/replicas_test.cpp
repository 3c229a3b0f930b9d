// The engine beside other replicas on one lease store: it answers only the broadcasts of
// clients it owns, allocates from its share first, learns the leases others store, and
// a client whose replica died keeps its address when its rebinding broadcast reaches the
// new owner.
#include "tests/dhcp/support/engine_fixture.hpp"

#include <set>

namespace drover::dhcp::test {
namespace {

using wire::MessageType;
namespace opt = wire::opt;

// Owns the clients and addresses it is told to; prefers odd last octets.
struct FakeShare : Responsibility {
  std::set<std::string> clients;
  bool everyone = false;
  bool owns(std::string_view key) const override {
    return everyone || clients.count(std::string(key)) != 0;
  }
  bool prefers(Ipv4Address ip) const override { return (ip.value() & 1) != 0; }
};

std::string keyOf(std::uint64_t mac) {
  return Engine::clientKey(discoverFor(mac));
}

class ReplicaEngine : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    engine_->setResponsibility(&share_);
  }
  FakeShare share_;
};

TEST_F(ReplicaEngine, BroadcastsOfAnotherReplicasClientAreLeftToIt) {
  auto out = send(discoverFor(1));
  EXPECT_FALSE(out.reply.has_value());
  EXPECT_EQ(out.drop, "other_replica");
  EXPECT_EQ(drops("other_replica"), 1);
  share_.clients.insert(keyOf(1));
  EXPECT_TRUE(send(discoverFor(1)).reply.has_value());
}

TEST_F(ReplicaEngine, ARequestNamingThisServerIsAnsweredWhoeverOwnsTheClient) {
  share_.clients.insert(keyOf(2));
  auto offer = replyOf(send(discoverFor(2)));
  share_.clients.clear();  // ownership moved between OFFER and REQUEST
  auto ack = replyOf(send(requestFor(offer, 2)));
  EXPECT_EQ(ack.messageType(), static_cast<std::uint8_t>(MessageType::Ack));
}

TEST_F(ReplicaEngine, AllocationPrefersThisReplicasShare) {
  share_.everyone = true;
  for (std::uint64_t mac = 1; mac <= 2; ++mac) {
    auto offer = replyOf(send(discoverFor(mac)));
    EXPECT_EQ(offer.yiaddr.value() & 1, 1u) << offer.yiaddr.str();
  }
  // The share is 192.0.2.101 and .103: the third client gets what is left.
  for (std::uint64_t mac = 1; mac <= 2; ++mac) dora(mac);
  auto third = replyOf(send(discoverFor(3)));
  EXPECT_EQ(third.yiaddr.value() & 1, 0u);
}

TEST_F(ReplicaEngine, ALeaseAnotherReplicaStoredIsRespectedAndRebindingKeepsIt) {
  // Another replica gave 192.0.2.101 to client 7; this engine learns it from the store.
  Lease theirs{ip("192.0.2.101"),   keyOf(7), macFor(7), LeaseState::Bound,
               clock_.now() + 3600, "lab",    ""};
  EXPECT_TRUE(engine_->learn(theirs).empty());
  share_.everyone = true;
  // Nobody else gets it.
  for (std::uint64_t mac = 1; mac <= 3; ++mac)
    EXPECT_NE(replyOf(send(discoverFor(mac))).yiaddr, theirs.ip);
  // Client 7's replica died: its rebinding broadcast reaches this one, which acks the
  // same address from the shared lease.
  auto rebind = discoverFor(7);
  rebind.setType(MessageType::Request);
  rebind.ciaddr = theirs.ip;
  auto out = send(rebind);
  auto ack = replyOf(out);
  EXPECT_EQ(ack.messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  EXPECT_EQ(ack.yiaddr, theirs.ip);
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0].lease.client_key, keyOf(7));
}

TEST_F(ReplicaEngine, AClientAnsweredByTwoReplicasKeepsOneAddress) {
  share_.everyone = true;
  auto ack = dora(4);  // 192.0.2.101, from this replica
  // Another replica had acknowledged it an address just before the takeover.
  Lease older{ip("192.0.2.102"), keyOf(4), macFor(4), LeaseState::Bound,
              clock_.now() + 60, "rack1",  ""};
  auto writes = engine_->learn(older);
  ASSERT_EQ(writes.size(), 1u);  // the one that ends first goes
  EXPECT_EQ(writes[0].op, LeaseWrite::Op::Remove);
  EXPECT_EQ(writes[0].lease.ip, older.ip);
  EXPECT_EQ(engine_->leases().byClient(keyOf(4))->ip, ack.yiaddr);
  Lease newer = older;
  newer.expires = clock_.now() + 7200;
  writes = engine_->learn(newer);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].lease.ip, ack.yiaddr);
  EXPECT_EQ(engine_->leases().byClient(keyOf(4))->ip, newer.ip);
  // Another replica's client: its owner settles it.
  share_.everyone = false;
  Lease theirs = newer;
  theirs.ip = ip("192.0.2.103");
  theirs.expires += 10;
  EXPECT_TRUE(engine_->learn(theirs).empty());
}

TEST_F(ReplicaEngine, AStaleChangeSeenLateDoesNotUndoANewerBinding) {
  share_.everyone = true;
  auto ack = dora(5);
  // Another client's lease of the same address, from before this binding, seen only now.
  Lease stale{ack.yiaddr, keyOf(6), macFor(6), LeaseState::Bound, clock_.now() + 100, "rack1", ""};
  EXPECT_TRUE(engine_->learn(stale).empty());
  EXPECT_EQ(engine_->leases().byIp(ack.yiaddr)->client_key, keyOf(5));
  stale.expires = clock_.now() + 3600;  // written in the same second as this binding
  EXPECT_TRUE(engine_->learn(stale).empty());
  EXPECT_EQ(engine_->leases().byIp(ack.yiaddr)->client_key, keyOf(5));
  engine_->forget(ack.yiaddr, keyOf(6));  // and its removal
  EXPECT_EQ(engine_->leases().byClient(keyOf(5))->ip, ack.yiaddr);
}

TEST_F(ReplicaEngine, ABindingTheStoreRefusedIsNotKept) {
  share_.everyone = true;
  auto offer = replyOf(send(discoverFor(7)));
  auto out = send(requestFor(offer, 7));
  ASSERT_EQ(out.writes.size(), 1u);
  engine_->rollback(out.writes);
  EXPECT_EQ(engine_->leases().byIp(offer.yiaddr), nullptr);
  EXPECT_EQ(engine_->leases().byClient(keyOf(7)), nullptr);
}

TEST_F(ReplicaEngine, ForgettingKeepsThisEnginesOwnOffers) {
  share_.everyone = true;
  auto offer = replyOf(send(discoverFor(1)));
  engine_->forget(offer.yiaddr);  // a removal seen on the store
  ASSERT_NE(engine_->leases().byIp(offer.yiaddr), nullptr);
  auto ack = dora(2);
  engine_->forget(ack.yiaddr, keyOf(3));  // a removal of an older lease of another client
  ASSERT_NE(engine_->leases().byIp(ack.yiaddr), nullptr);
  engine_->forget(ack.yiaddr, keyOf(2));
  EXPECT_EQ(engine_->leases().byIp(ack.yiaddr), nullptr);
}

TEST_F(ReplicaEngine, OnlyOwnedLeasesAreReclaimed) {
  share_.everyone = true;
  auto a = dora(1), b = dora(2);
  share_.everyone = false;
  share_.clients.insert(keyOf(1));
  clock_.advance(48 * 3600);
  auto writes = engine_->reclaimExpired();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].lease.ip, a.yiaddr);
  EXPECT_NE(engine_->leases().byIp(b.yiaddr), nullptr);
}

}  // namespace
}  // namespace drover::dhcp::test
