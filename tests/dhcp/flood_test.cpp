// DISCOVER floods: a full pool gives its oldest never-requested offers to new clients (and
// their first clients' REQUESTs are NAKed, never a second lease), DISCOVERs are limited per
// client and per interface with counted drops, reservations are answered whatever the
// flood, and a boot storm never trips the default limits.
#include <map>
#include <random>

#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

using wire::MessageType;
namespace opt = wire::opt;

std::uint8_t typeOf(const wire::Message& m) {
  return m.messageType().value_or(0);
}
constexpr auto kOffer = static_cast<std::uint8_t>(MessageType::Offer);
constexpr auto kAck = static_cast<std::uint8_t>(MessageType::Ack);
constexpr auto kNak = static_cast<std::uint8_t>(MessageType::Nak);

class FloodTest : public EngineTest {
 protected:
  std::int64_t reclaimed() const { return metric("dhcp_offers_reclaimed_total", ""); }

  // Offers for macs [first, last], one per second (rack1's pool has four addresses).
  std::vector<wire::Message> offers(std::uint64_t first, std::uint64_t last) {
    std::vector<wire::Message> out;
    for (auto mac = first; mac <= last; ++mac) {
      out.push_back(replyOf(send(discoverFor(mac))));
      clock_.advance(1);
    }
    return out;
  }
};

TEST_F(FloodTest, AFullPoolGivesTheOldestUnrequestedOfferToANewClient) {
  auto held = offers(1, 4);
  // Client 1 took its offer: a lease, never reclaimed. Clients 2..4 never asked.
  ASSERT_EQ(typeOf(replyOf(send(requestFor(held[0], 1)))), kAck);
  auto fifth = replyOf(send(discoverFor(5)));
  EXPECT_EQ(typeOf(fifth), kOffer);
  EXPECT_EQ(fifth.yiaddr, held[1].yiaddr);  // client 2's: the oldest offer
  clock_.advance(1);
  auto sixth = replyOf(send(discoverFor(6)));
  EXPECT_EQ(sixth.yiaddr, held[2].yiaddr);  // then client 3's
  EXPECT_EQ(reclaimed(), 2);
  EXPECT_EQ(drops("pool_exhausted"), 0);
  // Client 4's offer is now the oldest, then client 5's.
  EXPECT_EQ(replyOf(send(discoverFor(7))).yiaddr, held[3].yiaddr);
  EXPECT_EQ(replyOf(send(discoverFor(8))).yiaddr, fifth.yiaddr);
}

TEST_F(FloodTest, AReclaimedClientsRequestIsNakedAndItsNextDiscoverGetsAnotherAddress) {
  auto held = offers(1, 4);
  auto fifth = replyOf(send(discoverFor(5)));
  ASSERT_EQ(fifth.yiaddr, held[0].yiaddr);
  // Client 1 comes back for the offer it was made: NAK, the address is held for client 5.
  auto late = replyOf(send(requestFor(held[0], 1)));
  EXPECT_EQ(typeOf(late), kNak);
  const Lease* l = engine_->leases().byIp(held[0].yiaddr);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->mac, macFor(5));
  EXPECT_EQ(l->state, LeaseState::Offered);
  // Client 5 binds it; client 1 starts over and gets the oldest offer left (client 2's).
  EXPECT_EQ(typeOf(replyOf(send(requestFor(fifth, 5)))), kAck);
  auto again = replyOf(send(discoverFor(1)));
  EXPECT_EQ(again.yiaddr, held[1].yiaddr);
  EXPECT_EQ(typeOf(replyOf(send(requestFor(again, 1)))), kAck);
  // Client 2, reclaimed in turn, is NAKed too: the address is client 1's lease now.
  EXPECT_EQ(typeOf(replyOf(send(requestFor(held[1], 2)))), kNak);
  EXPECT_EQ(engine_->leases().byIp(held[1].yiaddr)->mac, macFor(1));
}

TEST_F(FloodTest, BoundLeasesAreNeverReclaimed) {
  for (std::uint64_t mac = 1; mac <= 4; ++mac) dora(mac);
  auto out = send(discoverFor(5));
  EXPECT_FALSE(out.reply);
  EXPECT_EQ(out.drop, "pool_exhausted");
  EXPECT_EQ(reclaimed(), 0);
}

// Many clients racing for a tiny pool, DISCOVERs and REQUESTs (for offers old and new)
// interleaved at random: whatever is reclaimed, an ACK never hands out an address another
// client holds an unexpired lease on.
TEST_F(FloodTest, NoAddressIsEverLeasedToTwoClients) {
  std::mt19937 rng(20261205);
  std::map<std::uint64_t, wire::Message> last_offer;  // mac -> the last offer it got
  std::map<std::uint32_t, std::pair<std::uint64_t, std::int64_t>> leased;  // ip -> mac, end
  int acks = 0, naks = 0;
  for (int step = 0; step < 4000; ++step) {
    const std::uint64_t mac = 1 + rng() % 40;
    if (step % 25 == 0) clock_.advance(1);
    if (rng() % 2 == 0 || last_offer.count(mac) == 0) {
      auto out = send(discoverFor(mac));
      if (out.reply) last_offer[mac] = replyOf(out);
      continue;
    }
    auto reply = replyOf(send(requestFor(last_offer[mac], mac)));
    if (typeOf(reply) == kNak) {
      ++naks;
      last_offer.erase(mac);
      continue;
    }
    ASSERT_EQ(typeOf(reply), kAck);
    ++acks;
    const auto now = clock_.now();
    for (auto it = leased.begin(); it != leased.end();)  // a client holds one address
      it = it->second.first == mac ? leased.erase(it) : std::next(it);
    auto held = leased.find(reply.yiaddr.value());
    ASSERT_TRUE(held == leased.end() || held->second.second <= now)
        << reply.yiaddr.str() << " ACKed to client " << mac << " while client "
        << held->second.first << " holds it";
    leased[reply.yiaddr.value()] = {mac, now + 3600};
  }
  std::printf("4000 steps, 40 clients, 4 addresses: %d ACKs, %d NAKs, %lld offers reclaimed\n",
              acks, naks, static_cast<long long>(reclaimed()));
  EXPECT_GT(reclaimed(), 0);
  EXPECT_GT(naks, 0);
}

TEST_F(FloodTest, PerClientLimitDropsARetransmittingClientPastItsBurst) {
  auto config = defaultConfig();
  config.discover_limits.client_rate = 2;
  config.discover_limits.client_burst = 10;
  rebuild(config);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(send(discoverFor(1)).reply) << i;
  auto out = send(discoverFor(1));
  EXPECT_FALSE(out.reply);
  EXPECT_EQ(out.drop, "discover_rate_client");
  // Another client is not affected; a second later two more are answered.
  EXPECT_TRUE(send(discoverFor(2)).reply);
  clock_.advance(1);
  EXPECT_TRUE(send(discoverFor(1)).reply);
  EXPECT_TRUE(send(discoverFor(1)).reply);
  EXPECT_FALSE(send(discoverFor(1)).reply);
  EXPECT_EQ(drops("discover_rate_client"), 2);
  // REQUESTs are not limited.
  auto offer = replyOf(send(discoverFor(2)));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(typeOf(replyOf(send(requestFor(offer, 2)))), kAck);
}

TEST_F(FloodTest, PerInterfaceLimitCountsOnlyNewClients) {
  auto config = defaultConfig();
  config.discover_limits.interface_rate = 1;
  config.discover_limits.interface_burst = 3;
  rebuild(config);
  for (std::uint64_t mac = 1; mac <= 3; ++mac) EXPECT_TRUE(send(discoverFor(mac)).reply);
  auto out = send(discoverFor(4));
  EXPECT_FALSE(out.reply);
  EXPECT_EQ(out.drop, "discover_rate_interface");
  // A client already offered an address retransmits: answered. So is a reservation.
  EXPECT_TRUE(send(discoverFor(1)).reply);
  EXPECT_EQ(replyOf(send(discoverFor(10))).yiaddr, ip("192.0.2.10"));
  // Another interface has its own bucket.
  auto other = onLink("198.51.100.1");
  other.interface = "br1";
  EXPECT_TRUE(send(discoverFor(5), other).reply);
  clock_.advance(1);
  EXPECT_TRUE(send(discoverFor(4)).reply);
  EXPECT_FALSE(send(discoverFor(6)).reply);
  EXPECT_EQ(drops("discover_rate_interface"), 2);
}

TEST_F(FloodTest, AReservedClientGetsItsAddressWhateverTheFlood) {
  auto config = defaultConfig();
  config.discover_limits.interface_rate = 10;
  config.discover_limits.interface_burst = 20;
  rebuild(config);
  // 5,000 random MACs in one second: the pool is full of their offers and the interface
  // limit is spent.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) send(discoverFor(0x100000 + (rng() % 0xefffff)));
  EXPECT_GT(drops("discover_rate_interface"), 4900);
  ASSERT_EQ(engine_->leases().offers(), 4u);
  auto ack = dora(10);
  EXPECT_EQ(typeOf(ack), kAck);
  EXPECT_EQ(ack.yiaddr, ip("192.0.2.10"));
  // And a new client, once the interface's bucket refills, gets the oldest offer.
  clock_.advance(1);
  auto late = dora(7);
  EXPECT_EQ(typeOf(late), kAck);
  EXPECT_TRUE(late.yiaddr >= ip("192.0.2.100") && late.yiaddr <= ip("192.0.2.103"));
}

// With the default limits: 5,000 machines powered on in the same second through one relay,
// each with a retransmitted DISCOVER, then a second DORA as iPXE. Nothing is dropped.
TEST_F(FloodTest, ABootStormNeverTripsTheDefaultLimits) {
  auto config = defaultConfig();
  config.networks[1].subnet = *Cidr::parse("198.18.0.0/16");
  config.networks[1].pools = {*Ipv4Range::parse("198.18.1.0-198.18.63.255")};
  rebuild(config);
  PacketContext relay = onLink();
  relay.source = ip("198.18.0.1");
  relay.source_port = 67;
  auto relayed = [](std::uint64_t mac) {
    auto m = discoverFor(mac);
    m.giaddr = ip("198.18.0.1");
    m.hops = 1;
    return m;
  };
  int acks = 0;
  for (std::uint64_t mac = 1000; mac < 6000; ++mac) {
    ASSERT_TRUE(send(relayed(mac), relay).reply) << mac;
    auto offer = replyOf(send(relayed(mac), relay));  // firmware retransmits
    auto req = requestFor(offer, mac);
    req.giaddr = ip("198.18.0.1");
    acks += typeOf(replyOf(send(req, relay))) == kAck;
  }
  clock_.advance(2);
  for (std::uint64_t mac = 1000; mac < 6000; ++mac) {  // iPXE's DORA
    auto offer = replyOf(send(relayed(mac), relay));
    auto req = requestFor(offer, mac);
    req.giaddr = ip("198.18.0.1");
    acks += typeOf(replyOf(send(req, relay))) == kAck;
  }
  EXPECT_EQ(acks, 10000);
  EXPECT_EQ(drops("discover_rate_client"), 0);
  EXPECT_EQ(drops("discover_rate_interface"), 0);
}

TEST(DiscoverLimiterTest, TheClientTableStaysBoundedUnderRandomMacs) {
  DiscoverLimiter limiter;
  DiscoverLimits limits;
  std::int64_t now = 1'700'000'000;
  int allowed = 0;
  for (int i = 0; i < 100000; ++i) {
    if (i % 20000 == 0) ++now;
    allowed += limiter.allowClient(limits, "client-" + std::to_string(i), now);
    ASSERT_LE(limiter.trackedClients(), DiscoverLimiter::kMaxClients);
  }
  EXPECT_EQ(allowed, 100000);  // each sent one: none is over its own limit
  // A second later the refilled clients are forgotten at the next sweep; a flooding one is
  // tracked and limited.
  ++now;
  for (int i = 0; i < 50; ++i) limiter.allowClient(limits, "flooder", now);
  EXPECT_FALSE(limiter.allowClient(limits, "flooder", now));
  EXPECT_LT(limiter.trackedClients(), 100u);
}

TEST(DiscoverLimiterTest, ZeroRatesTurnTheLimitsOff) {
  DiscoverLimiter limiter;
  DiscoverLimits limits;
  limits.client_rate = 0;
  limits.interface_rate = 0;
  for (int i = 0; i < 100000; ++i) {
    ASSERT_TRUE(limiter.allowClient(limits, "same", 1));
    ASSERT_TRUE(limiter.allowNewClient(limits, "br0", 1));
  }
  EXPECT_EQ(limiter.trackedClients(), 0u);
}

}  // namespace
}  // namespace drover::dhcp::test
