// The StateStore conformance suite: every backend passes it. A test binary includes this file
// once and instantiates the suite with its factories:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, StoreConformance, ::testing::Types<F1, F2>);
//
// A factory has static setUpSuite()/tearDownSuite() (once per suite, e.g. start a server),
// setUp() (per test; it may GTEST_SKIP or FAIL) and make(dir), which opens a fresh, empty
// store (dir: a temporary directory of the test).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "state/store.hpp"
#include "state/tokens.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::state {

// Readable failures: "{ts phase message}".
inline void PrintTo(const TimelineEntry& e, std::ostream* os) {
  *os << "{" << e.ts_ms << " " << e.phase << " " << e.message << "}";
}

// setUpSuite/tearDownSuite/setUp that do nothing, for factories that need none.
struct PlainFactory {
  static void setUpSuite() {}
  static void tearDownSuite() {}
  void setUp() {}
};

template <class Factory>
class StoreConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { Factory::setUpSuite(); }
  static void TearDownTestSuite() { Factory::tearDownSuite(); }
  void SetUp() override {
    factory_.setUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = factory_.make(dir_.path());
    ASSERT_NE(store_, nullptr);
  }
  test::TempDir dir_{"drover-state"};
  Factory factory_;
  std::unique_ptr<StateStore> store_;
};

TYPED_TEST_SUITE_P(StoreConformance);

TYPED_TEST_P(StoreConformance, NodeLifecycleAndTimeline) {
  StateStore& s = *this->store_;
  auto init = [](NodeRecord& r) {
    r.mac = "52:54:00:12:34:56";
    r.uuid = "c0ffee00-0000-4000-8000-000000000001";
    r.facts_json = R"({"cpu":{"count":2}})";
  };
  auto rec =
      applyEvent(s, "worker-1", NodeEvent::kRegistered, {1000, "registered", "agent up"}, init);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->status.state, NodeState::kInstalling);
  EXPECT_EQ(rec->state_since_ms, 1000);
  ASSERT_TRUE(s.appendTimeline("worker-1",
                               {{1100, "image_progress", "10%"}, {1200, "image_progress", "90%"}})
                  .ok());
  rec = applyEvent(s, "worker-1", NodeEvent::kInstalled, {1300, "installed", ""});
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->state_since_ms, 1300);

  // Refused transitions change nothing and add no timeline entry.
  auto refused = applyEvent(s, "worker-1", NodeEvent::kRegistered, {1400, "registered", "stray"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "transition_refused");

  auto got = s.getNode("worker-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->status.state, NodeState::kInstalled);
  EXPECT_EQ((*got)->mac, "52:54:00:12:34:56");
  EXPECT_EQ((*got)->facts_json, R"({"cpu":{"count":2}})");
  auto by_mac = s.findByMac("52:54:00:12:34:56");
  ASSERT_TRUE(by_mac.ok() && by_mac->has_value());
  EXPECT_EQ((*by_mac)->name, "worker-1");
  auto by_uuid = s.findByUuid("c0ffee00-0000-4000-8000-000000000001");
  ASSERT_TRUE(by_uuid.ok() && by_uuid->has_value());
  EXPECT_FALSE(s.findByMac("00:00:00:00:00:01")->has_value());
  EXPECT_FALSE(s.findByMac("")->has_value());

  auto tl = s.timeline("worker-1", 1000);
  ASSERT_TRUE(tl.ok());
  ASSERT_EQ(tl->size(), 4u);
  EXPECT_EQ((*tl)[0], (TimelineEntry{1000, "registered", "agent up"}));
  EXPECT_EQ((*tl)[3].phase, "installed");
  auto last2 = s.timeline("worker-1", 2);
  ASSERT_EQ(last2->size(), 2u);
  EXPECT_EQ((*last2)[0].message, "90%");

  ASSERT_TRUE(
      applyEvent(s, "worker-1", NodeEvent::kReinstallRequested, {1500, "reinstall_requested", ""})
          .ok());
  EXPECT_TRUE((*s.getNode("worker-1"))->status.reinstall_requested);
  rec = applyEvent(s, "worker-1", NodeEvent::kRegistered, {1600, "registered", ""});
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->status.reinstall_requested);
  EXPECT_EQ(rec->status.state, NodeState::kInstalling);
}

TYPED_TEST_P(StoreConformance, ListAndRemove) {
  StateStore& s = *this->store_;
  for (const char* n : {"c", "a", "b"})
    ASSERT_TRUE(applyEvent(s, n, NodeEvent::kDiscovered, {1, "discovered", ""}).ok());
  auto all = s.listNodes();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "a");
  EXPECT_EQ((*all)[0].status.state, NodeState::kDiscovered);
  ASSERT_TRUE(s.removeNode("b").ok());
  EXPECT_EQ(s.listNodes()->size(), 2u);
  EXPECT_TRUE(s.timeline("b", 10)->empty());
  EXPECT_FALSE(s.getNode("b")->has_value());
}

TYPED_TEST_P(StoreConformance, LastEventsGivesEachNodesLatestEntryInOneCall) {
  StateStore& s = *this->store_;
  EXPECT_TRUE(s.lastEvents()->empty());
  ASSERT_TRUE(applyEvent(s, "w-1", NodeEvent::kDiscovered, {10, "discovered", ""}).ok());
  ASSERT_TRUE(s.appendTimeline("w-1", {{20, "kernel", "a"}, {20, "initrd", "b"}}).ok());
  ASSERT_TRUE(applyEvent(s, "w 2/x", NodeEvent::kDiscovered, {5, "discovered", "odd name"}).ok());
  ASSERT_TRUE(s.appendTimeline("no-record", {{7, "dhcp_offer", ""}}).ok());
  ASSERT_TRUE(applyEvent(s, "gone", NodeEvent::kDiscovered, {1, "discovered", ""}).ok());
  ASSERT_TRUE(s.removeNode("gone").ok());
  auto last = s.lastEvents();
  ASSERT_TRUE(last.ok()) << last.error().message;
  ASSERT_EQ(last->size(), 3u);
  EXPECT_EQ(last->at("w-1"), (TimelineEntry{20, "initrd", "b"}));
  EXPECT_EQ(last->at("w 2/x"), (TimelineEntry{5, "discovered", "odd name"}));
  EXPECT_EQ(last->at("no-record").phase, "dhcp_offer");
  for (const auto& [name, e] : *last) EXPECT_EQ(s.timeline(name, 1)->back(), e) << name;
}

TYPED_TEST_P(StoreConformance, UpdateFnErrorWritesNothing) {
  StateStore& s = *this->store_;
  auto r = s.updateNode("x",
                        [](const std::optional<NodeRecord>&) -> Result<NodeRecord> {
                          return makeError("nope", "refused");
                        },
                        {{1, "p", "m"}});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(s.getNode("x")->has_value());
  EXPECT_TRUE(s.timeline("x", 10)->empty());
}

TYPED_TEST_P(StoreConformance, ConcurrentUpdatesAreAtomic) {
  StateStore& s = *this->store_;
  auto bump = [&] {
    for (int i = 0; i < 50; ++i) {
      auto r =
          s.updateNode("counter", [](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
            NodeRecord rec = cur.value_or(NodeRecord{});
            rec.state_since_ms += 1;
            return rec;
          });
      ASSERT_TRUE(r.ok());
    }
  };
  std::thread t1(bump), t2(bump);
  t1.join();
  t2.join();
  EXPECT_EQ((*s.getNode("counter"))->state_since_ms, 100);
}

TYPED_TEST_P(StoreConformance, TokensSingleUseExpiryWrongNode) {
  StateStore& s = *this->store_;
  std::int64_t now = 1'000'000;
  const std::string key(kBootTokenKeyBytes, 'k');
  TokenService tokens(s, key, [&now] { return now; });
  ASSERT_TRUE(applyEvent(s, "worker-1", NodeEvent::kRegistered, {1, "registered", ""}).ok());
  ASSERT_TRUE(applyEvent(s, "worker-2", NodeEvent::kRegistered, {1, "registered", ""}).ok());
  auto claims = [](const std::string& node) {
    return BootClaims{.node = node, .mac = {}, .holder = {}, .expires_ms = 0};
  };

  // Issuing writes nothing; spending records the token, once.
  auto boot = tokens.issueBootToken(claims("worker-1"), 60'000);
  ASSERT_TRUE(boot.ok());
  EXPECT_FALSE(s.takeToken(hashToken(*boot))->has_value());
  auto node = tokens.redeemBootToken(*boot);
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->node, "worker-1");
  auto again = tokens.redeemBootToken(*boot);  // single use
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "replayed_token");

  auto old = tokens.issueBootToken(claims("worker-1"), 60'000);
  now += 60'001;
  auto expired = tokens.redeemBootToken(*old);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, "expired_token");

  // The record of a spent token stays until it has expired; then it may go.
  auto stale = tokens.issueBootToken(claims("worker-2"), 10);
  auto fresh = tokens.issueBootToken(claims("worker-2"), 10'000'000);
  ASSERT_TRUE(tokens.redeemBootToken(*stale).ok());
  EXPECT_EQ(*s.claimToken({hashToken(*fresh), "boot_spent", "worker-2", now + 10'000'000}), true);
  EXPECT_EQ(*s.claimToken({hashToken(*fresh), "boot_spent", "worker-2", now + 10'000'000}), false);
  now += 1000;
  EXPECT_EQ(*s.purgeExpiredTokens(now), 2u);  // the first one's and stale's
  EXPECT_EQ(tokens.redeemBootToken(*stale).error().code, "expired_token");
  EXPECT_EQ(tokens.redeemBootToken(*fresh).error().code, "replayed_token");
  EXPECT_EQ(tokens.redeemBootToken("not-a-token").error().code, "malformed_token");

  // Node credentials: bound to one node, compared in constant time.
  auto cred = tokens.issueNodeCredential("worker-1");
  ASSERT_TRUE(cred.ok());
  EXPECT_NE((*s.getNode("worker-1"))->credential_hash, *cred);  // stored hashed
  EXPECT_EQ((*s.getNode("worker-1"))->credential_hash, hashToken(*cred));
  std::uint64_t before = constantTimeCompareCountForTest();
  EXPECT_TRUE(tokens.verifyNodeCredential("worker-1", *cred).ok());
  EXPECT_GT(constantTimeCompareCountForTest(), before);
  EXPECT_EQ(tokens.verifyNodeCredential("worker-2", *cred).error().code, "invalid_credential");
  EXPECT_FALSE(tokens.verifyNodeCredential("nobody", *cred).ok());
  EXPECT_FALSE(tokens.verifyNodeCredential("worker-1", *cred + "x").ok());
  EXPECT_FALSE(tokens.issueNodeCredential("nobody").ok());
  auto rotated = tokens.issueNodeCredential("worker-1");
  EXPECT_FALSE(tokens.verifyNodeCredential("worker-1", *cred).ok());
  EXPECT_TRUE(tokens.verifyNodeCredential("worker-1", *rotated).ok());
}

// Reads interleaved with writes (what a cache in front of a store must get right): every
// read of the last N entries, or of the record, sees every write before it, past any tail
// length, through removal and re-creation, and with concurrent writers and readers.
TYPED_TEST_P(StoreConformance, ReadsBetweenWritesSeeEveryWrite) {
  StateStore& s = *this->store_;
  std::vector<TimelineEntry> all;
  EXPECT_TRUE(s.timeline("n", 8)->empty());
  EXPECT_FALSE(s.getNode("n")->has_value());
  for (int i = 0; i < 40; ++i) {
    TimelineEntry e{i + 1, i % 3 ? "p" : "q", std::to_string(i)};  // 0 means "now"
    all.push_back(e);
    if (i % 2) {
      ASSERT_TRUE(s.appendTimeline("n", {e}).ok());
    } else {
      ASSERT_TRUE(applyEvent(s, "n", NodeEvent::kDiscovered, e).ok());
      EXPECT_EQ((*s.getNode("n"))->status.state, NodeState::kDiscovered);
    }
    for (std::size_t limit : {1u, 8u, 20u, 1000u}) {
      const auto got = s.timeline("n", limit);
      ASSERT_TRUE(got.ok());
      const auto n = std::min(limit, all.size());
      EXPECT_EQ(*got,
                std::vector<TimelineEntry>(all.end() - static_cast<std::ptrdiff_t>(n), all.end()))
          << "entry " << i << ", limit " << limit;
    }
  }
  ASSERT_TRUE(s.removeNode("n").ok());
  EXPECT_FALSE(s.getNode("n")->has_value());
  EXPECT_TRUE(s.timeline("n", 8)->empty());
  ASSERT_TRUE(applyEvent(s, "n", NodeEvent::kDiscovered, {99, "discovered", "again"}).ok());
  EXPECT_EQ(*s.timeline("n", 8), (std::vector<TimelineEntry>{{99, "discovered", "again"}}));
  EXPECT_TRUE(s.getNode("n")->has_value());

  // One writer appends 200 entries while a reader polls: what it reads is always a suffix
  // of what was written, in order, and at the end it sees the last entry.
  std::thread writer([&] {
    for (int i = 1; i <= 200; ++i) ASSERT_TRUE(s.appendTimeline("m", {{i, "p", ""}}).ok());
  });
  for (int polls = 0; polls < 200; ++polls) {
    const auto got = s.timeline("m", 8);
    ASSERT_TRUE(got.ok());
    for (std::size_t k = 1; k < got->size(); ++k)
      ASSERT_EQ((*got)[k].ts_ms, (*got)[k - 1].ts_ms + 1) << "not a suffix, in order";
  }
  writer.join();
  EXPECT_EQ(s.timeline("m", 8)->back().ts_ms, 200);
}

// A node's handoff: written, read back, changed only through `fn`, handed out once to
// racing callers, removed with nullopt and with the node.
TYPED_TEST_P(StoreConformance, AHandoffIsSharedChangedAtomicallyAndDeliveredOnce) {
  StateStore& s = *this->store_;
  using Maybe = std::optional<HandoffRecord>;
  EXPECT_FALSE(s.getHandoff("w-1")->has_value());
  EXPECT_TRUE(s.listHandoffs()->empty());
  HandoffRecord h;
  h.method = "agent";
  h.attempt = 1;
  h.id = "18c2f-1";
  h.mac = "52:54:00:12:34:56";
  h.requested_ms = 1000;
  h.deadline_ms = 301'000;
  auto put = [&](const std::string& node, HandoffRecord rec) {
    return s.updateHandoff(node, [&](const Maybe&) -> Result<Maybe> { return Maybe(rec); });
  };
  ASSERT_TRUE(put("w-1", h).ok());
  h.method = "bmc";
  ASSERT_TRUE(put("a 0/x", h).ok());
  auto all = s.listHandoffs();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].node, "a 0/x");
  EXPECT_EQ((*all)[0].method, "bmc");
  h.method = "agent";
  h.node = "w-1";
  EXPECT_EQ((*all)[1], h);
  EXPECT_EQ(**s.getHandoff("w-1"), h);

  // An error from `fn` writes nothing.
  auto refused = s.updateHandoff(
      "w-1", [](const Maybe&) -> Result<Maybe> { return makeError("nope", "refused"); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "nope");
  EXPECT_EQ(**s.getHandoff("w-1"), h);

  // Callers racing to hand the request out: exactly one does.
  std::atomic<int> handed{0}, refusals{0};
  auto deliver = [&] {
    auto r = s.updateHandoff("w-1", [](const Maybe& cur) -> Result<Maybe> {
      if (!cur || cur->delivered) return makeError("handoff_taken", "delivered already");
      auto next = *cur;
      next.delivered = true;
      return Maybe(next);
    });
    if (r.ok())
      ++handed;
    else if (r.error().code == "handoff_taken")
      ++refusals;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(deliver);
  for (auto& t : threads) t.join();
  EXPECT_EQ(handed.load(), 1);
  EXPECT_EQ(refusals.load(), 3);
  EXPECT_TRUE((*s.getHandoff("w-1"))->delivered);

  // nullopt removes it; removing one that is not there is no error.
  auto gone = s.updateHandoff("w-1", [](const Maybe&) -> Result<Maybe> { return Maybe(); });
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_FALSE(s.getHandoff("w-1")->has_value());
  EXPECT_TRUE(s.updateHandoff("w-1", [](const Maybe&) -> Result<Maybe> { return Maybe(); }).ok());

  // The node's removal takes its handoff along.
  ASSERT_TRUE(applyEvent(s, "a 0/x", NodeEvent::kDiscovered, {1, "discovered", ""}).ok());
  ASSERT_TRUE(s.removeNode("a 0/x").ok());
  EXPECT_TRUE(s.listHandoffs()->empty());
}

REGISTER_TYPED_TEST_SUITE_P(StoreConformance, NodeLifecycleAndTimeline, ListAndRemove,
                            LastEventsGivesEachNodesLatestEntryInOneCall,
                            UpdateFnErrorWritesNothing, ConcurrentUpdatesAreAtomic,
                            TokensSingleUseExpiryWrongNode, ReadsBetweenWritesSeeEveryWrite,
                            AHandoffIsSharedChangedAtomicallyAndDeliveredOnce);

}  // namespace drover::state
