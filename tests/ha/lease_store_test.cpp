// The shared lease store on a real etcd: the conformance suite every backend passes, then
// what only a store shared by replicas must do.
#include "ha/lease_store.hpp"
#include "ha/lease_codec.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/dhcp/support/lease_store_conformance.hpp"
#include "tests/ha/etcd_fixture.hpp"

namespace drover::dhcp::test {
namespace {

using ha::test::SharedEtcd;

struct EtcdBackend {
  std::string prefix;
  std::vector<std::unique_ptr<etcd::Client>> clients;
  std::shared_ptr<LeaseStore> make() {
    if (!drover::test::etcdAvailable()) {  // the body then runs on memory, marked skipped
      if (std::getenv("CI") != nullptr) ADD_FAILURE() << drover::test::kEtcdBinary << " missing";
      [] { GTEST_SKIP_("etcd missing"); }();
      return std::make_shared<MemoryLeaseStore>();
    }
    EXPECT_NE(SharedEtcd::get(), nullptr) << SharedEtcd::why();
    prefix = SharedEtcd::prefix();
    return reopen();
  }
  std::shared_ptr<LeaseStore> reopen() {
    clients.push_back(SharedEtcd::client());
    return std::make_shared<ha::EtcdLeaseStore>(
        *clients.back(), ha::LeaseStoreOptions{.prefix = prefix, .replica = "r1", .now = {}});
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, LeaseStoreConformance, ::testing::Types<EtcdBackend>);

}  // namespace
}  // namespace drover::dhcp::test

namespace drover::ha {
namespace {

using dhcp::Lease;
using dhcp::LeaseState;
using dhcp::LeaseWrite;
using test::SharedEtcd;

constexpr std::int64_t kNow = 1'800'000'000;

Lease leaseOf(std::uint32_t host, const std::string& client, std::int64_t expires = kNow + 600) {
  return Lease{Ipv4Address(0xc6336400 + host),  // 198.51.100.host
               client,
               dhcp::test::macFor(host),
               LeaseState::Bound,
               expires,
               "rack1",
               ""};
}

struct Recorder : LeaseListener {
  std::mutex mu;
  std::vector<Lease> stored_leases;
  std::vector<std::pair<Ipv4Address, std::string>> removals;
  void stored(const Lease& l) override {
    std::lock_guard lock(mu);
    stored_leases.push_back(l);
  }
  void removed(Ipv4Address ip, const std::string& client) override {
    std::lock_guard lock(mu);
    removals.emplace_back(ip, client);
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return stored_leases.size() + removals.size();
  }
};

class SharedLeases : public ::testing::Test {
 protected:
  void SetUp() override {
    DROVER_REQUIRE_SHARED_ETCD();
    prefix_ = SharedEtcd::prefix();
  }
  // A replica's store with its own client.
  std::unique_ptr<EtcdLeaseStore> replica(const std::string& id) {
    clients_.push_back(SharedEtcd::client());
    auto s = std::make_unique<EtcdLeaseStore>(
        *clients_.back(),
        LeaseStoreOptions{.prefix = prefix_, .replica = id, .now = [] { return kNow; }}, registry_);
    EXPECT_TRUE(s->loadAll().ok());
    return s;
  }
  std::string prefix_;
  std::vector<std::unique_ptr<etcd::Client>> clients_;
  metrics::Registry registry_;
};

TEST_F(SharedLeases, AnAddressHeldByAnotherReplicasClientIsRefusedAndTheWinnerLearnt) {
  auto a = replica("a");
  auto b = replica("b");  // loaded before a writes: b does not know of the lease
  Recorder heard;
  b->setListener(&heard);
  ASSERT_TRUE(a->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(10, "c1")}}).ok());
  auto st = b->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(10, "c2")}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "lease_conflict");
  ASSERT_GE(heard.stored_leases.size(), 1u);  // from the read-back, and again on the retry
  for (const auto& l : heard.stored_leases) EXPECT_EQ(l.client_key, "c1");
  auto all = b->loadAll();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].client_key, "c1");
  EXPECT_GE(registry_.valueForTest("ha_lease_conflicts_total"), 1);
}

TEST_F(SharedLeases, TheSameClientRenewsThroughAnyReplicaAndAnExpiredLeaseIsTakenOver) {
  auto a = replica("a");
  auto b = replica("b");
  ASSERT_TRUE(a->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(11, "c1")}}).ok());
  // b never saw a's write; the compare fails, b reads it back, and c1's own lease is free
  // for c1.
  EXPECT_TRUE(
      b->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(11, "c1", kNow + 900)}}).ok());
  ASSERT_TRUE(
      a->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(12, "c3", kNow - 1)}}).ok());
  EXPECT_TRUE(b->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(12, "c4")}}).ok());
}

TEST_F(SharedLeases, OneConflictInAGroupCommitCostsOnlyItsOwnReply) {
  auto a = replica("a");
  auto b = replica("b");
  ASSERT_TRUE(a->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(20, "held")}}).ok());
  std::vector<std::vector<LeaseWrite>> groups;
  for (std::uint32_t h = 15; h < 25; ++h)
    groups.push_back({LeaseWrite{LeaseWrite::Op::Put, leaseOf(h, "b-" + std::to_string(h))}});
  auto results = b->applyGroups(groups);
  ASSERT_EQ(results.size(), groups.size());
  for (std::size_t i = 0; i < results.size(); ++i)
    EXPECT_EQ(results[i].ok(), i != 5) << i;  // 198.51.100.20 is a's
  EXPECT_EQ(b->loadAll()->size(), 10u);
}

TEST_F(SharedLeases, GroupsBeyondOneTransactionAreSplit) {
  auto a = replica("a");
  std::vector<std::vector<LeaseWrite>> groups;
  for (std::uint32_t h = 1; h <= 250; ++h)
    groups.push_back({LeaseWrite{LeaseWrite::Op::Put, leaseOf(h, "c" + std::to_string(h))}});
  for (const auto& st : a->applyGroups(groups)) EXPECT_TRUE(st.ok());
  std::vector<LeaseWrite> reclaim;
  for (std::uint32_t h = 1; h <= 250; ++h)
    reclaim.push_back(LeaseWrite{LeaseWrite::Op::Remove, leaseOf(h, "c" + std::to_string(h))});
  EXPECT_TRUE(a->apply(reclaim).ok());
  EXPECT_TRUE(a->loadAll()->empty());
  EXPECT_LE(registry_.valueForTest("ha_lease_transactions_total"), 8);
}

TEST_F(SharedLeases, RacingReplicasNeverGiveOneAddressToTwoClients) {
  constexpr std::uint32_t kAddresses = 40;
  std::vector<std::unique_ptr<EtcdLeaseStore>> stores;
  for (const char* id : {"a", "b", "c"}) stores.push_back(replica(id));
  std::mutex mu;
  std::map<std::uint32_t, std::vector<std::string>> acked;  // address -> clients acknowledged
  std::vector<std::thread> threads;
  for (std::size_t r = 0; r < stores.size(); ++r) {
    threads.emplace_back([&, r] {
      for (std::uint32_t h = 1; h <= kAddresses; ++h) {
        const std::string client = "replica" + std::to_string(r) + "-client" + std::to_string(h);
        auto st =
            stores[r]->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(h, client)}});
        if (st.ok()) {
          std::lock_guard lock(mu);
          acked[h].push_back(client);
        } else {
          EXPECT_TRUE(st.error().code == "lease_conflict" || st.error().code == "lease_contention")
              << st.error().message;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto stored = stores[0]->loadAll();
  ASSERT_EQ(stored->size(), kAddresses);
  for (const auto& l : *stored) {
    const auto h = l.ip.value() - 0xc6336400;
    ASSERT_EQ(acked[h].size(), 1u) << l.ip.str() << " acknowledged to several clients";
    EXPECT_EQ(acked[h][0], l.client_key);  // and what was acknowledged is what is stored
  }
}

TEST_F(SharedLeases, FollowHandsOtherReplicasWritesToTheListener) {
  auto a = replica("a");
  auto b = replica("b");
  Recorder heard;
  b->setListener(&heard);
  auto watcher = SharedEtcd::client();
  std::atomic<bool> stop{false};
  std::thread follower([&] { b->follow(*watcher, stop); });
  ASSERT_TRUE(a->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(30, "c1")}}).ok());
  ASSERT_TRUE(b->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(31, "own")}}).ok());
  ASSERT_TRUE(a->apply(std::vector{LeaseWrite{LeaseWrite::Op::Remove, leaseOf(30, "c1")}}).ok());
  for (int i = 0; i < 100 && heard.count() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  follower.join();
  std::lock_guard lock(heard.mu);
  ASSERT_EQ(heard.stored_leases.size(), 1u);  // b's own write is not echoed
  EXPECT_EQ(heard.stored_leases[0].client_key, "c1");
  ASSERT_EQ(heard.removals.size(), 1u);
  EXPECT_EQ(heard.removals[0].first, leaseOf(30, "c1").ip);
  EXPECT_EQ(heard.removals[0].second, "c1");
}

TEST_F(SharedLeases, ACorruptValueKeepsItsAddressHeld) {
  auto raw = SharedEtcd::client();
  ASSERT_TRUE(raw->put(leaseKey(prefix_, leaseOf(40, "").ip), "{not json").ok());
  auto a = replica("a");
  EXPECT_TRUE(a->loadAll()->empty());
  EXPECT_GE(registry_.valueForTest("ha_lease_decode_errors_total"), 1);
  auto st = a->apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(40, "c1")}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "lease_conflict");
}

TEST_F(SharedLeases, EtcdDownIsAnErrorNotAHang) {
  etcd::Options opt;
  opt.connect_timeout_s = 1;
  opt.request_timeout_s = 1;
  auto dead = etcd::Client::create({drover::test::loopbackUrl(drover::test::closedPort())}, opt);
  ASSERT_TRUE(dead.ok());
  EtcdLeaseStore s(*dead, LeaseStoreOptions{.prefix = prefix_, .replica = "a", .now = {}},
                   registry_);
  EXPECT_FALSE(s.loadAll().ok());
  auto st = s.apply(std::vector{LeaseWrite{LeaseWrite::Op::Put, leaseOf(1, "c")}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "network");
}

}  // namespace
}  // namespace drover::ha
