// EtcdStore as several replicas see it: two stores (each with its own client) on one real
// etcd, racing updates and token takes, the key layout, index keys, large timelines and values
// in etcd that are not what the store writes.
#include "state/etcd/store.hpp"

#include <atomic>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "state/tokens.hpp"
#include "tests/state/etcd/store_support.hpp"

namespace drover::state {
namespace {

class EtcdStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { EtcdFactory::setUpSuite(); }
  static void TearDownTestSuite() { EtcdFactory::tearDownSuite(); }
  void SetUp() override {
    EtcdFactory().setUp();
    if (IsSkipped() || HasFatalFailure()) return;
    prefix_ = EtcdFactory::uniquePrefix();
    raw_ = EtcdFactory::client();
  }
  // Another replica: a store with a client of its own on the same prefix.
  std::unique_ptr<EtcdStore> replica() {
    return std::make_unique<EtcdStore>(EtcdFactory::client(), prefix_);
  }

  std::string prefix_;
  std::shared_ptr<etcd::Client> raw_;  // to look at and spoil the keys directly
};

const auto kInit = [](NodeRecord& r) {
  r.mac = "52:54:00:12:34:56";
  r.uuid = "c0ffee00-0000-4000-8000-000000000001";
};

Result<NodeRecord> bump(StateStore& s, const std::string& name) {
  return s.updateNode(name, [](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
    NodeRecord rec = cur.value_or(NodeRecord{});
    rec.state_since_ms += 1;
    return rec;
  });
}

TEST_F(EtcdStoreTest, ConcurrentUpdatesFromTwoReplicasLoseNothing) {
  auto a = replica(), b = replica();
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (EtcdStore* s : {a.get(), a.get(), b.get(), b.get()}) {
    threads.emplace_back([&, s] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = bump(*s, "counter");
        if (!r.ok()) {
          ++failures;
          ADD_FAILURE() << r.error().code << ": " << r.error().message;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ((*a->getNode("counter"))->state_since_ms, 4 * kPerThread);
  EXPECT_EQ((*b->getNode("counter"))->state_since_ms, 4 * kPerThread);
}

TEST_F(EtcdStoreTest, ATokenTakenByManyReplicasHasOneWinner) {
  auto owner = replica();
  for (int round = 0; round < 5; ++round) {
    const std::string hash = hashToken("token-" + std::to_string(round));
    ASSERT_TRUE(owner->putToken({hash, "boot", "worker-1", 1'000}).ok());
    std::atomic<int> wins{0}, errors{0};
    std::vector<std::thread> racers;
    for (int i = 0; i < 8; ++i) {
      racers.emplace_back([&] {
        auto store = replica();
        auto r = store->takeToken(hash);
        if (!r.ok())
          ++errors;
        else if (r->has_value() && (*r)->node == "worker-1")
          ++wins;
      });
    }
    for (auto& t : racers) t.join();
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(wins, 1) << "round " << round;
  }
}

// Replicas answering heartbeats of one node at once: one hands the agent's request out.
TEST_F(EtcdStoreTest, AHandoffDeliveredByManyReplicasHasOneWinner) {
  using Maybe = std::optional<HandoffRecord>;
  auto owner = replica();
  for (int round = 0; round < 3; ++round) {
    HandoffRecord h;
    h.method = "agent";
    h.attempt = 1;
    h.id = "req-" + std::to_string(round);
    ASSERT_TRUE(
        owner->updateHandoff("worker-1", [&](const Maybe&) -> Result<Maybe> { return Maybe(h); }));
    std::atomic<int> wins{0}, errors{0};
    std::vector<std::thread> racers;
    for (int i = 0; i < 6; ++i) {
      racers.emplace_back([&] {
        auto store = replica();
        auto r = store->updateHandoff("worker-1", [](const Maybe& cur) -> Result<Maybe> {
          if (!cur || cur->delivered) return makeError("handoff_taken", "");
          auto next = *cur;
          next.delivered = true;
          return Maybe(next);
        });
        if (r.ok())
          ++wins;
        else if (r.error().code != "handoff_taken")
          ++errors;
      });
    }
    for (auto& t : racers) t.join();
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(wins, 1) << "round " << round;
  }
  EXPECT_TRUE(raw_->get(prefix_ + "/handoffs/worker-1")->has_value());
}

TEST_F(EtcdStoreTest, OneReplicaSeesWhatTheOtherWrote) {
  auto a = replica(), b = replica();
  ASSERT_TRUE(applyEvent(*a, "worker-1", NodeEvent::kRegistered, {10, "registered", ""}, kInit));
  ASSERT_TRUE(a->appendTimeline("worker-1", {{11, "image_progress", "50%"}}).ok());
  auto got = b->getNode("worker-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->status.state, NodeState::kInstalling);
  EXPECT_EQ((*b->findByMac("52:54:00:12:34:56"))->name, "worker-1");
  EXPECT_EQ((*b->findByUuid("c0ffee00-0000-4000-8000-000000000001"))->name, "worker-1");
  EXPECT_EQ(b->timeline("worker-1", 10)->size(), 2u);
  ASSERT_TRUE(applyEvent(*b, "worker-1", NodeEvent::kInstalled, {12, "installed", ""}));
  EXPECT_EQ((*a->getNode("worker-1"))->status.state, NodeState::kInstalled);

  const std::string key(kBootTokenKeyBytes, 'k');
  TokenService issuer(*a, key), redeemer(*b, key);
  auto token = issuer.issueBootToken({.node = "worker-1", .mac = {}, .holder = {}, .expires_ms = 0});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(redeemer.redeemBootToken(*token)->node, "worker-1");
  EXPECT_EQ(issuer.redeemBootToken(*token).error().code, "replayed_token");

  ASSERT_TRUE(b->removeNode("worker-1").ok());
  EXPECT_FALSE(a->getNode("worker-1")->has_value());
  EXPECT_FALSE(a->findByMac("52:54:00:12:34:56")->has_value());
  EXPECT_TRUE(a->timeline("worker-1", 10)->empty());
}

TEST_F(EtcdStoreTest, KeyLayout) {
  auto s = replica();
  ASSERT_TRUE(applyEvent(*s, "worker-1", NodeEvent::kDiscovered, {42, "discovered", ""}, kInit));
  ASSERT_TRUE(s->putToken({"abc123", "boot", "worker-1", 5}).ok());
  EXPECT_EQ(s->nodeKey("worker-1"), prefix_ + "/nodes/worker-1");
  EXPECT_TRUE(raw_->get(prefix_ + "/nodes/worker-1")->has_value());
  EXPECT_EQ((*raw_->get(prefix_ + "/node-macs/52:54:00:12:34:56"))->value, "worker-1");
  EXPECT_EQ((*raw_->get(prefix_ + "/node-uuids/c0ffee00-0000-4000-8000-000000000001"))->value,
            "worker-1");
  EXPECT_TRUE(raw_->get(prefix_ + "/tokens/abc123")->has_value());
  auto tl = raw_->range(prefix_ + "/timeline/worker-1/");
  ASSERT_TRUE(tl.ok());
  ASSERT_EQ(tl->kvs.size(), 1u);
  EXPECT_TRUE(std::regex_match(tl->kvs[0].key,
                               std::regex(".*/timeline/worker-1/0{18}42-[0-9]{12}-[0-9a-f]{16}")))
      << tl->kvs[0].key;

  // Names are escaped: "a" and "a/b" do not share a timeline.
  EXPECT_EQ(s->nodeKey("rack/1 x"), prefix_ + "/nodes/rack%2F1%20x");
  ASSERT_TRUE(s->appendTimeline("a", {{1, "p", "a"}}).ok());
  ASSERT_TRUE(s->appendTimeline("a/b", {{1, "p", "a/b"}}).ok());
  ASSERT_TRUE(s->removeNode("a").ok());
  EXPECT_TRUE(s->timeline("a", 10)->empty());
  EXPECT_EQ(s->timeline("a/b", 10)->size(), 1u);
}

TEST_F(EtcdStoreTest, IndexKeysFollowTheRecord) {
  auto s = replica();
  ASSERT_TRUE(applyEvent(*s, "n1", NodeEvent::kDiscovered, {1, "discovered", ""}, kInit));
  auto moved = s->updateNode("n1",
                             [](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
                               NodeRecord r = *cur;
                               r.mac = "52:54:00:00:00:02";
                               r.uuid = "";
                               return r;
                             },
                             {});
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_FALSE(s->findByMac("52:54:00:12:34:56")->has_value());
  EXPECT_FALSE(raw_->get(s->macKey("52:54:00:12:34:56"))->has_value());
  EXPECT_FALSE(raw_->get(s->uuidKey("c0ffee00-0000-4000-8000-000000000001"))->has_value());
  EXPECT_EQ((*s->findByMac("52:54:00:00:00:02"))->name, "n1");

  // An index key that names a node without that MAC (or no node at all) finds nothing.
  ASSERT_TRUE(raw_->put(s->macKey("52:54:00:00:00:03"), "n1").ok());
  ASSERT_TRUE(raw_->put(s->macKey("52:54:00:00:00:04"), "ghost").ok());
  EXPECT_FALSE(s->findByMac("52:54:00:00:00:03")->has_value());
  EXPECT_FALSE(s->findByMac("52:54:00:00:00:04")->has_value());

  // An index key another node took over is left to it.
  ASSERT_TRUE(raw_->put(s->macKey("52:54:00:00:00:02"), "n2").ok());
  ASSERT_TRUE(s->removeNode("n1").ok());
  EXPECT_EQ((*raw_->get(s->macKey("52:54:00:00:00:02")))->value, "n2");
}

TEST_F(EtcdStoreTest, GivesUpAfterLosingEveryRace) {
  auto s = replica();
  ASSERT_TRUE(bump(*s, "busy").ok());
  const std::string key = s->nodeKey("busy");
  const std::string value = (*raw_->get(key))->value;
  int calls = 0;
  auto r = s->updateNode(
      "busy",
      [&](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
        ++calls;
        EXPECT_TRUE(raw_->put(key, value).ok());  // another replica writes first, every time
        return *cur;
      },
      {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "state_conflict");
  EXPECT_EQ(calls, EtcdStore::kMaxAttempts);
}

TEST_F(EtcdStoreTest, TimelinesBeyondOneTransaction) {
  auto s = replica();
  std::vector<TimelineEntry> many;
  for (int i = 0; i < 300; ++i) many.push_back({7, "image_progress", std::to_string(i)});
  ASSERT_TRUE(s->appendTimeline("big", many).ok());
  auto all = s->timeline("big", 1000);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, many);  // same ts: in the order written
  auto last = s->timeline("big", 10);
  ASSERT_EQ(last->size(), 10u);
  EXPECT_EQ(last->front().message, "290");
  EXPECT_TRUE(s->timeline("big", 0)->empty());

  // updateNode keeps to one transaction: the most it takes, with both index keys moving.
  ASSERT_TRUE(applyEvent(*s, "n", NodeEvent::kDiscovered, {1, "discovered", ""}, kInit));
  auto change = [](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
    NodeRecord r = *cur;
    r.mac = "52:54:00:00:00:09";
    r.uuid = "c0ffee00-0000-4000-8000-000000000009";
    return r;
  };
  std::vector<TimelineEntry> most(EtcdStore::kMaxEntriesPerUpdate, {2, "p", "m"});
  auto ok = s->updateNode("n", change, most);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  most.push_back({3, "p", "one too many"});
  auto refused = s->updateNode("n", change, most);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "state_too_large");
  EXPECT_EQ(s->timeline("n", 1000)->size(), EtcdStore::kMaxEntriesPerUpdate + 1);
}

TEST_F(EtcdStoreTest, CorruptValuesAreErrorsNamingTheKey) {
  auto s = replica();
  const std::string bad = s->nodeKey("bad");
  for (const char* value :
       {"{not json", "[]", R"({"name":"bad"})", R"({"name":"bad","state":"sleeping"})",
        R"({"name":"bad","state":"joined","state_since_ms":"x"})",
        R"({"name":"other","state":"joined"})"}) {
    ASSERT_TRUE(raw_->put(bad, value).ok());
    auto r = s->getNode("bad");
    ASSERT_FALSE(r.ok()) << value;
    EXPECT_EQ(r.error().code, "state_corrupt") << value;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(s->listNodes().error().code, "state_corrupt");
  bool called = false;
  auto u = s->updateNode("bad",
                         [&](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
                           called = true;
                           return cur.value_or(NodeRecord{});
                         },
                         {});
  EXPECT_EQ(u.error().code, "state_corrupt");
  EXPECT_FALSE(called);
  ASSERT_TRUE(s->removeNode("bad").ok());  // a record that cannot be read can still go
  EXPECT_FALSE(s->getNode("bad")->has_value());

  ASSERT_TRUE(raw_->put(s->timelinePrefix("n") + "x", "{\"phase\":1}").ok());
  EXPECT_EQ(s->timeline("n", 10).error().code, "state_corrupt");
  ASSERT_TRUE(raw_->put(s->tokenKey("t"), "\xff").ok());
  EXPECT_EQ(s->purgeExpiredTokens(10).error().code, "state_corrupt");
  EXPECT_EQ(s->takeToken("t").error().code, "state_corrupt");
}

TEST_F(EtcdStoreTest, PurgeCountsOnlyWhatItRemoved) {
  auto s = replica();
  for (int i = 0; i < 150; ++i)  // more than one transaction
    ASSERT_TRUE(s->putToken({"old" + std::to_string(i), "boot", "n", 100}).ok());
  ASSERT_TRUE(s->putToken({"fresh", "boot", "n", 10'000}).ok());
  EXPECT_EQ(*s->purgeExpiredTokens(1'000), 150u);
  EXPECT_EQ(*s->purgeExpiredTokens(1'000), 0u);
  EXPECT_FALSE(s->takeToken("old7")->has_value());
  EXPECT_TRUE(s->takeToken("fresh")->has_value());
}

TEST(EtcdStoreUnreachable, ErrorsAreValues) {
  auto c = etcd::Client::create({test::loopbackUrl(test::closedPort())});
  ASSERT_TRUE(c.ok());
  EtcdStore s(*c, "/drover/");
  EXPECT_EQ(s.prefix(), "/drover");
  EXPECT_EQ(s.getNode("n").error().code, "network");
  EXPECT_EQ(bump(s, "n").error().code, "network");
  EXPECT_EQ(s.takeToken("t").error().code, "network");
  EXPECT_EQ(s.removeNode("n").error().code, "network");
}

}  // namespace
}  // namespace drover::state
