// The state database's schema version: a new database is made at the current version, the
// kept database of the version 1 layout (tests/testdata/state/v1-state.db) is migrated with
// its data after a backup copy, a failed migration leaves it untouched, and a database from
// a newer Drover is refused.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include "state/sqlite_schema.hpp"
#include "state/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::state {
namespace {

std::filesystem::path keptV1() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return std::filesystem::path(src != nullptr ? src : ".") / "tests/testdata/state/v1-state.db";
}

// Runs one statement on the file with a connection of its own; returns the first column of
// the first row (or "" when there is none).
std::string query(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  std::string out;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr)
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

void execOn(const std::filesystem::path& db_path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(StateSchema, ANewDatabaseIsMadeAtTheCurrentVersionWithoutABackup) {
  test::TempDir dir("drover-schema");
  auto store = SqliteStore::open(dir.path() / "state.db");
  ASSERT_TRUE(store) << store.error().message;
  store->reset();
  EXPECT_EQ(query(dir.path() / "state.db", "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(query(dir.path() / "state.db", "SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(kSchemaVersion));
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().string().find(".bak"), std::string::npos) << e.path();
}

TEST(StateSchema, TheKeptVersion1DatabaseIsMigratedWithItsData) {
  test::TempDir dir("drover-schema");
  const auto db = dir.path() / "state.db";
  std::filesystem::copy_file(keptV1(), db);
  ASSERT_EQ(query(db, "PRAGMA user_version"), "0");

  auto store = SqliteStore::open(db);
  ASSERT_TRUE(store) << store.error().message;
  auto master = (*store)->getNode("master-1");
  ASSERT_TRUE(master && *master);
  EXPECT_EQ((*master)->status.state, NodeState::kJoined);
  EXPECT_EQ((*master)->mac, "52:54:00:12:34:56");
  EXPECT_EQ((*master)->install_version, "debian-12@1");
  EXPECT_EQ((*master)->facts_json, "{\"cpus\":2}");
  auto worker = (*store)->findByUuid("8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162");
  ASSERT_TRUE(worker && *worker);
  EXPECT_EQ((*worker)->name, "worker-2");
  EXPECT_TRUE((*worker)->status.reinstall_requested);
  auto timeline = (*store)->timeline("master-1", 10);
  ASSERT_TRUE(timeline);
  ASSERT_EQ(timeline->size(), 3u);
  auto token = (*store)->takeToken("ab12");
  ASSERT_TRUE(token && *token);
  EXPECT_EQ((*token)->node, "worker-2");
  store->reset();

  EXPECT_EQ(query(db, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(query(db, "SELECT name FROM sqlite_master WHERE name = 'tokens_expires'"),
            "tokens_expires");
  const auto backup = dir.path() / "state.db.v1.bak";
  ASSERT_TRUE(std::filesystem::exists(backup));
  EXPECT_EQ(query(backup, "PRAGMA user_version"), "0");
  EXPECT_EQ(query(backup, "SELECT count(*) FROM timeline"), "3");

  // Opening it again changes nothing and copies nothing.
  auto again = SqliteStore::open(db);
  ASSERT_TRUE(again) << again.error().message;
  again->reset();
  int backups = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    backups += e.path().extension() == ".bak" ? 1 : 0;
  EXPECT_EQ(backups, 1);
}

TEST(StateSchema, AFailedMigrationLeavesTheDatabaseAsItWas) {
  test::TempDir dir("drover-schema");
  const auto db = dir.path() / "state.db";
  execOn(db, R"sql(
    CREATE TABLE nodes(name TEXT PRIMARY KEY, mac TEXT NOT NULL DEFAULT '', uuid TEXT NOT NULL DEFAULT '',
      state TEXT NOT NULL, reinstall INTEGER NOT NULL DEFAULT 0, state_since INTEGER NOT NULL,
      facts TEXT NOT NULL DEFAULT '{}', install_version TEXT NOT NULL DEFAULT '',
      credential_hash TEXT NOT NULL DEFAULT '');
    CREATE TABLE tokens_expires(x);
    INSERT INTO nodes(name, state, state_since) VALUES ('old-node', 'joined', 5);)sql");

  auto store = SqliteStore::open(db);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, "schema_migration");
  EXPECT_NE(store.error().message.find("unchanged"), std::string::npos) << store.error().message;
  EXPECT_EQ(query(db, "PRAGMA user_version"), "0");
  EXPECT_EQ(query(db, "SELECT count(*) FROM pragma_table_info('nodes') WHERE name = 'capture'"),
            "0");
  EXPECT_EQ(query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'"), "0");
  EXPECT_EQ(query(db, "SELECT state FROM nodes WHERE name = 'old-node'"), "joined");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "state.db.v1.bak"));
}

TEST(StateSchema, ADatabaseFromANewerDroverIsRefusedAndLeftAlone) {
  test::TempDir dir("drover-schema");
  const auto db = dir.path() / "state.db";
  std::filesystem::copy_file(keptV1(), db);
  execOn(db, "PRAGMA user_version = 99");

  auto store = SqliteStore::open(db);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, "schema_too_new");
  const auto& msg = store.error().message;
  EXPECT_NE(msg.find("schema version 99"), std::string::npos) << msg;
  EXPECT_NE(msg.find("newer drover"), std::string::npos) << msg;
  EXPECT_EQ(query(db, "PRAGMA user_version"), "99");
  EXPECT_EQ(query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'tokens_expires'"), "0");
}

}  // namespace
}  // namespace drover::state
