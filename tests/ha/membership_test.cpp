// Replica liveness and ownership on a real etcd: every client has exactly one owner among
// the live replicas, a crashed replica's clients are taken over once its lease runs out
// (the time is printed), a clean leave hands them over at once.
#include "ha/membership.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/ha/etcd_fixture.hpp"

namespace drover::ha {
namespace {

using test::SharedEtcd;
using Clock = std::chrono::steady_clock;

struct Replica {
  std::unique_ptr<etcd::Client> client = SharedEtcd::client();
  std::unique_ptr<etcd::Client> watcher = SharedEtcd::client();
  metrics::Registry registry;
  std::unique_ptr<Membership> membership;

  Status start(const std::string& prefix, const std::string& id, std::int64_t ttl = 2) {
    MembershipOptions o;
    o.prefix = prefix;
    o.self =
        ReplicaInfo{id, "192.0.2.1", "https://192.0.2.1:9443", "http://192.0.2.1:8080", "hash", 1};
    o.ttl_s = ttl;
    auto m = Membership::start(*client, *watcher, o, registry);
    if (!m) return m.error();
    membership = std::move(*m);
    return {};
  }
};

// Waits (bounded) until `m` sees `n` live replicas; how long it took.
std::chrono::milliseconds waitForLive(const Membership& m, std::size_t n,
                                      std::chrono::seconds limit = std::chrono::seconds(15)) {
  const auto start = Clock::now();
  while (m.live().size() != n && Clock::now() - start < limit)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

class Replicas : public ::testing::Test {
 protected:
  void SetUp() override {
    DROVER_REQUIRE_SHARED_ETCD();
    prefix_ = SharedEtcd::prefix();
  }
  std::string prefix_;
};

TEST_F(Replicas, EveryClientHasExactlyOneOwner) {
  Replica r[3];
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(r[i].start(prefix_, std::string(1, 'a' + i)).ok());
  for (auto& x : r) waitForLive(*x.membership, 3);
  for (auto& x : r) ASSERT_EQ(x.membership->live().size(), 3u);
  int each[3] = {0, 0, 0};
  for (int c = 0; c < 600; ++c) {
    const std::string key = "client-" + std::to_string(c);
    int owners = 0;
    for (int i = 0; i < 3; ++i)
      if (r[i].membership->owns(key)) {
        ++owners;
        ++each[i];
      }
    ASSERT_EQ(owners, 1) << key;
  }
  for (int n : each) EXPECT_GT(n, 120);
  EXPECT_EQ(r[0].registry.valueForTest("ha_replicas_live"), 3);
}

TEST_F(Replicas, ACrashedReplicasClientsAreTakenOverWithinItsLease) {
  Replica r[3];
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(r[i].start(prefix_, std::string(1, 'a' + i)).ok());
  for (auto& x : r) waitForLive(*x.membership, 3);
  std::string orphan;  // a client of b
  for (int c = 0; orphan.empty(); ++c)
    if (r[1].membership->owns("client-" + std::to_string(c)))
      orphan = "client-" + std::to_string(c);
  EXPECT_FALSE(r[0].membership->owns(orphan) || r[2].membership->owns(orphan));
  r[1].membership->abandonForTest();  // as kill -9: no revoke
  const auto took = waitForLive(*r[0].membership, 2);
  ASSERT_EQ(r[0].membership->live().size(), 2u);
  EXPECT_TRUE(r[0].membership->owns(orphan) != r[2].membership->owns(orphan));
  std::printf("takeover after a crash: %lld ms (lease ttl 2 s)\n",
              static_cast<long long>(took.count()));
  // The time is printed for docs/benchmarks.md, not bounded here.
}

TEST_F(Replicas, ACleanLeaveHandsOverAtOnce) {
  Replica a, b;
  ASSERT_TRUE(a.start(prefix_, "a", 30).ok());
  ASSERT_TRUE(b.start(prefix_, "b", 30).ok());
  waitForLive(*a.membership, 2);
  b.membership.reset();  // revokes: the key is gone now, not when the 30 s lease runs out
  auto key = a.client->get(prefix_ + "/replicas/b");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
  waitForLive(*a.membership, 1);
  EXPECT_EQ(a.membership->live().size(), 1u);
  EXPECT_TRUE(a.membership->owns("anyone"));
}

TEST_F(Replicas, ASecondReplicaWithALiveIdIsRefused) {
  Replica a, again;
  ASSERT_TRUE(a.start(prefix_, "a", 30).ok());
  auto st = again.start(prefix_, "a", 2);  // waits out a lease of 2 + 2 s, then gives up
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "replica_id_in_use");
}

TEST_F(Replicas, AReplicaCutOffFromEtcdOwnsNobody) {
  // etcd unreachable from the start: it cannot even join.
  Replica lost;
  etcd::Options opt;
  opt.connect_timeout_s = 1;
  opt.request_timeout_s = 1;
  auto dead = etcd::Client::create({drover::test::loopbackUrl(drover::test::closedPort())}, opt);
  ASSERT_TRUE(dead.ok());
  lost.client = std::make_unique<etcd::Client>(std::move(*dead));
  EXPECT_EQ(lost.start(prefix_, "z").error().code, "network");
}

}  // namespace
}  // namespace drover::ha
