// Both StateStore implementations pass the same suite; the SQLite one also survives a
// reopen.
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "state/memory_store.hpp"
#include "state/sqlite_store.hpp"
#include "state/tokens.hpp"

namespace drover::state {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "drover-state-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct MemoryFactory {
  std::unique_ptr<StateStore> make(const fs::path&) { return std::make_unique<MemoryStore>(); }
};
struct SqliteFactory {
  std::unique_ptr<StateStore> make(const fs::path& dir) {
    auto s = SqliteStore::open(dir / "state.db");
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return std::move(*s);
  }
};

template <class Factory>
class StoreConformance : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Factory().make(dir_.path()); }
  TempDir dir_;
  std::unique_ptr<StateStore> store_;
};

using Factories = ::testing::Types<MemoryFactory, SqliteFactory>;
TYPED_TEST_SUITE(StoreConformance, Factories);

TYPED_TEST(StoreConformance, NodeLifecycleAndTimeline) {
  StateStore& s = *this->store_;
  auto init = [](NodeRecord& r) {
    r.mac = "52:54:00:12:34:56";
    r.uuid = "c0ffee00-0000-4000-8000-000000000001";
    r.facts_json = R"({"cpu":{"count":2}})";
  };
  auto rec = applyEvent(s, "worker-1", NodeEvent::kRegistered, {1000, "registered", "agent up"}, init);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->status.state, NodeState::kInstalling);
  EXPECT_EQ(rec->state_since_ms, 1000);
  ASSERT_TRUE(s.appendTimeline("worker-1", {{1100, "image_progress", "10%"}, {1200, "image_progress", "90%"}}).ok());
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

  ASSERT_TRUE(applyEvent(s, "worker-1", NodeEvent::kReinstallRequested, {1500, "reinstall_requested", ""}).ok());
  EXPECT_TRUE((*s.getNode("worker-1"))->status.reinstall_requested);
  rec = applyEvent(s, "worker-1", NodeEvent::kRegistered, {1600, "registered", ""});
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->status.reinstall_requested);
  EXPECT_EQ(rec->status.state, NodeState::kInstalling);
}

TYPED_TEST(StoreConformance, ListAndRemove) {
  StateStore& s = *this->store_;
  for (const char* n : {"c", "a", "b"}) ASSERT_TRUE(applyEvent(s, n, NodeEvent::kDiscovered, {1, "discovered", ""}).ok());
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

TYPED_TEST(StoreConformance, UpdateFnErrorWritesNothing) {
  StateStore& s = *this->store_;
  auto r = s.updateNode("x", [](const std::optional<NodeRecord>&) -> Result<NodeRecord> {
    return makeError("nope", "refused");
  }, {{1, "p", "m"}});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(s.getNode("x")->has_value());
  EXPECT_TRUE(s.timeline("x", 10)->empty());
}

TYPED_TEST(StoreConformance, ConcurrentUpdatesAreAtomic) {
  StateStore& s = *this->store_;
  auto bump = [&] {
    for (int i = 0; i < 50; ++i) {
      auto r = s.updateNode("counter", [](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
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

TYPED_TEST(StoreConformance, TokensSingleUseExpiryWrongNode) {
  StateStore& s = *this->store_;
  std::int64_t now = 1'000'000;
  TokenService tokens(s, [&now] { return now; });
  ASSERT_TRUE(applyEvent(s, "worker-1", NodeEvent::kRegistered, {1, "registered", ""}).ok());
  ASSERT_TRUE(applyEvent(s, "worker-2", NodeEvent::kRegistered, {1, "registered", ""}).ok());

  auto boot = tokens.issueBootToken("worker-1", 60'000);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->size(), 43u);
  auto node = tokens.redeemBootToken(*boot);
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(*node, "worker-1");
  auto again = tokens.redeemBootToken(*boot);  // single use
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "invalid_token");

  auto old = tokens.issueBootToken("worker-1", 60'000);
  now += 60'001;
  auto expired = tokens.redeemBootToken(*old);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, "expired_token");
  EXPECT_FALSE(tokens.redeemBootToken(*old).ok());  // spent even though expired

  auto stale = tokens.issueBootToken("worker-2", 10);
  auto fresh = tokens.issueBootToken("worker-2", 10'000'000);
  now += 1000;
  EXPECT_EQ(*s.purgeExpiredTokens(now), 1u);
  EXPECT_FALSE(tokens.redeemBootToken(*stale).ok());
  EXPECT_TRUE(tokens.redeemBootToken(*fresh).ok());
  EXPECT_FALSE(tokens.redeemBootToken("not-a-token").ok());

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

TEST(SqliteStoreTest, StateSurvivesReopen) {
  TempDir dir;
  std::string boot;
  {
    auto s = SqliteStore::open(dir.path() / "state.db");
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(applyEvent(**s, "worker-1", NodeEvent::kRegistered, {5, "registered", "r"}).ok());
    ASSERT_TRUE(applyEvent(**s, "worker-1", NodeEvent::kInstalled, {6, "installed", "i"}).ok());
    TokenService tokens(**s);
    boot = *tokens.issueBootToken("worker-1");
  }
  auto s = SqliteStore::open(dir.path() / "state.db");
  ASSERT_TRUE(s.ok());
  auto rec = (*s)->getNode("worker-1");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->status.state, NodeState::kInstalled);
  EXPECT_EQ((*rec)->state_since_ms, 6);
  EXPECT_EQ((*s)->timeline("worker-1", 10)->size(), 2u);
  TokenService tokens(**s);
  EXPECT_EQ(*tokens.redeemBootToken(boot), "worker-1");
  // WAL mode is on.
  EXPECT_TRUE(fs::exists(dir.path() / "state.db-wal"));
}

TEST(SqliteStoreTest, OpenFailsCleanly) {
  auto s = SqliteStore::open("/nonexistent-dir/deeper/state.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store_open");
}

TEST(TokensTest, GenerationHashingAndCompare) {
  auto a = generateToken(), b = generateToken();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos);
  EXPECT_EQ(hashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(constantTimeEquals("same", "same"));
  EXPECT_FALSE(constantTimeEquals("same", "samf"));
  EXPECT_FALSE(constantTimeEquals("same", "sam"));
}

TEST(TokensTest, OperatorTokenCreatedOnceWithMode0600) {
  TempDir dir;
  auto first = ensureOperatorToken(dir.path() / "state");
  ASSERT_TRUE(first.ok());
  auto again = ensureOperatorToken(dir.path() / "state");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*first, *again);
  auto perms = fs::status(dir.path() / "state" / "operator.token").permissions();
  EXPECT_EQ(perms & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace
}  // namespace drover::state
