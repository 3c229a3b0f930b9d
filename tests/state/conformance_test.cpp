// MemoryStore, SqliteStore and the caching store in front of either pass the conformance suite
// (tests/state/store_conformance.hpp; EtcdStore runs it in etcd_store_test); the SQLite one also
// survives a reopen.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "state/caching_store.hpp"
#include "state/memory_store.hpp"
#include "state/sqlite_store.hpp"
#include "state/tokens.hpp"
#include "tests/state/store_conformance.hpp"

namespace drover::state {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

struct MemoryFactory : PlainFactory {
  std::unique_ptr<StateStore> make(const fs::path&) { return std::make_unique<MemoryStore>(); }
};
struct SqliteFactory : PlainFactory {
  std::unique_ptr<StateStore> make(const fs::path& dir) {
    auto s = SqliteStore::open(dir / "state.db");
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return std::move(*s);
  }
};

// The cache `drover serve` puts in front of its SQLite database (and of the memory one).
template <class Inner>
struct CachingFactory : PlainFactory {
  std::unique_ptr<StateStore> make(const fs::path& dir) { return cachingStore(Inner().make(dir)); }
};

using Factories = ::testing::Types<MemoryFactory, SqliteFactory, CachingFactory<SqliteFactory>,
                                   CachingFactory<MemoryFactory>>;
INSTANTIATE_TYPED_TEST_SUITE_P(Local, StoreConformance, Factories);

TEST(SqliteStoreTest, StateSurvivesReopen) {
  TempDir dir;
  std::string boot;
  {
    auto s = SqliteStore::open(dir.path() / "state.db");
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(applyEvent(**s, "worker-1", NodeEvent::kRegistered, {5, "registered", "r"}).ok());
    ASSERT_TRUE(applyEvent(**s, "worker-1", NodeEvent::kInstalled, {6, "installed", "i"}).ok());
    TokenService tokens(**s, std::string(kBootTokenKeyBytes, 'k'));
    boot = *tokens.issueBootToken({.node = "worker-1", .mac = {}, .holder = {}, .expires_ms = 0});
    ASSERT_TRUE(tokens.redeemBootToken(boot).ok());
  }
  auto s = SqliteStore::open(dir.path() / "state.db");
  ASSERT_TRUE(s.ok());
  auto rec = (*s)->getNode("worker-1");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->status.state, NodeState::kInstalled);
  EXPECT_EQ((*rec)->state_since_ms, 6);
  EXPECT_EQ((*s)->timeline("worker-1", 10)->size(), 2u);
  TokenService tokens(**s, std::string(kBootTokenKeyBytes, 'k'));
  EXPECT_EQ(tokens.redeemBootToken(boot).error().code,
            "replayed_token");  // the record survives too
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
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
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
