// The capture intent in the node state machine and in both stores (with the SQLite
// migration of a database made before capture existed).
#include <sqlite3.h>

#include <gtest/gtest.h>

#include "state/memory_store.hpp"
#include "state/node_state.hpp"
#include "state/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::state {
namespace {

NodeStatus in(NodeState s) { return NodeStatus{s, false, false}; }

TEST(CaptureState, OnlyANodeWithAnInstalledDiskCanBeCaptured) {
  for (auto s : {NodeState::kInstalled, NodeState::kJoined}) {
    auto r = transition(in(s), NodeEvent::kCaptureRequested);
    ASSERT_TRUE(r) << toString(s);
    EXPECT_EQ(r->state, s);
    EXPECT_TRUE(r->capture_requested);
  }
  for (auto s : {NodeState::kDiscovered, NodeState::kInstalling, NodeState::kFailed}) {
    auto r = transition(in(s), NodeEvent::kCaptureRequested);
    ASSERT_FALSE(r) << toString(s);
    EXPECT_EQ(r.error().code, "transition_refused");
  }
  EXPECT_FALSE(transition(std::nullopt, NodeEvent::kCaptureRequested));
}

TEST(CaptureState, FinishingClearsTheFlagAndKeepsTheState) {
  NodeStatus s{NodeState::kJoined, false, true};
  auto r = transition(s, NodeEvent::kCaptureFinished);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, NodeState::kJoined);
  EXPECT_FALSE(r->capture_requested);
  EXPECT_FALSE(transition(std::nullopt, NodeEvent::kCaptureFinished));
}

TEST(CaptureState, Names) {
  EXPECT_EQ(toString(NodeEvent::kCaptureRequested), "capture_requested");
}

NodeRecord captured(const std::string& name) {
  NodeRecord r;
  r.name = name;
  r.status = NodeStatus{NodeState::kInstalled, false, true};
  r.capture_image = name + "-capture";
  r.capture_token_hash = std::string(64, 'c');
  return r;
}

void roundTrip(StateStore& store) {
  auto put = store.updateNode("node-1", [](const auto&) -> Result<NodeRecord> { return captured("node-1"); });
  ASSERT_TRUE(put) << put.error().message;
  auto got = store.getNode("node-1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, captured("node-1"));
}

TEST(CaptureStore, MemoryStoreKeepsTheIntent) {
  MemoryStore store;
  roundTrip(store);
}

TEST(CaptureStore, SqliteStoreKeepsTheIntent) {
  test::TempDir dir("drover-capture-state");
  auto store = SqliteStore::open(dir.path() / "state.db");
  ASSERT_TRUE(store) << store.error().message;
  roundTrip(**store);
}

TEST(CaptureStore, AnOlderDatabaseGainsTheCaptureColumns) {
  test::TempDir dir("drover-capture-state");
  const auto path = dir.path() / "state.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* old = R"sql(
      CREATE TABLE nodes(name TEXT PRIMARY KEY, mac TEXT NOT NULL DEFAULT '', uuid TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL, reinstall INTEGER NOT NULL DEFAULT 0, state_since INTEGER NOT NULL,
        facts TEXT NOT NULL DEFAULT '{}', install_version TEXT NOT NULL DEFAULT '',
        credential_hash TEXT NOT NULL DEFAULT '');
      INSERT INTO nodes(name, state, state_since) VALUES ('old-node', 'joined', 5);)sql";
    ASSERT_EQ(sqlite3_exec(db, old, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  auto old = (*store)->getNode("old-node");
  ASSERT_TRUE(old && *old);
  EXPECT_EQ((*old)->status.state, NodeState::kJoined);
  EXPECT_FALSE((*old)->status.capture_requested);
  EXPECT_EQ((*old)->capture_image, "");
  roundTrip(**store);
  // Opening it again finds the columns there.
  store->reset();
  auto again = SqliteStore::open(path);
  ASSERT_TRUE(again) << again.error().message;
  auto got = (*again)->getNode("node-1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->capture_image, "node-1-capture");
}

}  // namespace
}  // namespace drover::state
