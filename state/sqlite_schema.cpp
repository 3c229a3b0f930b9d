#include "state/sqlite_schema.hpp"

#include <sqlite3.h>

#include <chrono>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace drover::state {
namespace {

// Version 1, as written before versions; every statement is idempotent.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS nodes(
  name TEXT PRIMARY KEY,
  mac TEXT NOT NULL DEFAULT '',
  uuid TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  reinstall INTEGER NOT NULL DEFAULT 0,
  state_since INTEGER NOT NULL,
  facts TEXT NOT NULL DEFAULT '{}',
  install_version TEXT NOT NULL DEFAULT '',
  credential_hash TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS nodes_mac ON nodes(mac);
CREATE INDEX IF NOT EXISTS nodes_uuid ON nodes(uuid);
CREATE TABLE IF NOT EXISTS timeline(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  node TEXT NOT NULL,
  ts INTEGER NOT NULL,
  phase TEXT NOT NULL,
  message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS timeline_node ON timeline(node, id);
CREATE TABLE IF NOT EXISTS tokens(
  hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  node TEXT NOT NULL,
  expires INTEGER NOT NULL);
)sql";

// Columns that version 1 databases may lack.
constexpr std::pair<const char*, const char*> kCaptureColumns[] = {
    {"capture", "INTEGER NOT NULL DEFAULT 0"},
    {"capture_image", "TEXT NOT NULL DEFAULT ''"},
    {"capture_token_hash", "TEXT NOT NULL DEFAULT ''"},
};

Status exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    return makeError("store_error", msg);
  }
  return {};
}

Result<std::set<std::string>> columns(sqlite3* db, const char* table) {
  sqlite3_stmt* s = nullptr;
  const auto sql = fmt::format("PRAGMA table_info({})", table);
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    return makeError("store_error", sqlite3_errmsg(db));
  std::set<std::string> out;
  while (sqlite3_step(s) == SQLITE_ROW)
    out.insert(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)));
  sqlite3_finalize(s);
  return out;
}

Status toVersion2(sqlite3* db) {
  if (auto st = exec(db, kSchemaV1); !st) return st;
  auto have = columns(db, "nodes");
  if (!have) return have.error();
  for (const auto& [name, type] : kCaptureColumns) {
    if (have->count(name) != 0) continue;
    if (auto st = exec(db, fmt::format("ALTER TABLE nodes ADD COLUMN {} {}", name, type)); !st)
      return st;
  }
  if (auto st = exec(db, "CREATE INDEX IF NOT EXISTS tokens_expires ON tokens(expires)"); !st)
    return st;
  return exec(db, "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '2')");
}

Status toVersion3(sqlite3* db) {
  if (auto st = exec(db, R"sql(
CREATE TABLE IF NOT EXISTS handoffs(
  node TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1,
  id TEXT NOT NULL DEFAULT '',
  mac TEXT NOT NULL DEFAULT '',
  requested INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  rebooting INTEGER NOT NULL DEFAULT 0))sql");
      !st)
    return st;
  return exec(db, "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '3')");
}

// Step i brings version i + 1 to version i + 2.
constexpr Status (*kMigrations[])(sqlite3*) = {toVersion2, toVersion3};
static_assert(std::size(kMigrations) + 1 == kSchemaVersion);

Result<bool> hasTable(sqlite3* db, const char* name) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                         &s, nullptr) != SQLITE_OK)
    return makeError("store_error", sqlite3_errmsg(db));
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  const int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return makeError("store_error", sqlite3_errmsg(db));
  return rc == SQLITE_ROW;
}

// "<db>.v1.bak", or with a time stamp when that exists already.
std::filesystem::path backupPath(const std::filesystem::path& path, int from) {
  auto out = path;
  out += fmt::format(".v{}.bak", from);
  std::error_code ec;
  if (!std::filesystem::exists(out, ec)) return out;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  out = path;
  out += fmt::format(".v{}.{}.bak", from, now.count());
  return out;
}

Status backup(sqlite3* db, const std::filesystem::path& to) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &s, nullptr) != SQLITE_OK)
    return makeError("store_backup", sqlite3_errmsg(db));
  const std::string file = to.string();
  sqlite3_bind_text(s, 1, file.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE)
    return makeError("store_backup", fmt::format("{}: {}", file, sqlite3_errmsg(db)));
  return {};
}

Status migrate(sqlite3* db, int from, int to) {
  if (auto st = exec(db, "BEGIN IMMEDIATE"); !st) return st;
  Status st;
  for (int v = from; v < to && st; ++v) st = kMigrations[v - 1](db);
  if (st) st = exec(db, fmt::format("PRAGMA user_version = {}", to));
  if (st) st = exec(db, "COMMIT");
  if (!st) (void)exec(db, "ROLLBACK");
  return st;
}

}  // namespace

Result<int> schemaVersion(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr) != SQLITE_OK)
    return makeError("store_error", sqlite3_errmsg(db));
  const int rc = sqlite3_step(s);
  const int v = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
  sqlite3_finalize(s);
  if (v < 0) return makeError("store_error", sqlite3_errmsg(db));
  return v;
}

Result<SchemaOutcome> openSchema(sqlite3* db, const std::filesystem::path& path) {
  auto version = schemaVersion(db);
  if (!version) return version.error();
  SchemaOutcome out;
  out.from = *version;
  if (out.from > kSchemaVersion)
    return makeError(
        "schema_too_new",
        fmt::format("{}: the state database has schema version {}, newer than this drover "
                    "knows (version {}): it was written by a newer drover. Run that "
                    "version again, or restore the copy taken before it migrated "
                    "({}.v{}.bak)",
                    path.string(), out.from, kSchemaVersion, path.string(), kSchemaVersion));
  if (out.from == kSchemaVersion) return out;
  if (out.from == 0) {
    auto legacy = hasTable(db, "nodes");
    if (!legacy) return legacy.error();
    if (!*legacy) {
      if (auto st = migrate(db, 1, kSchemaVersion); !st)
        return makeError(st.error().code, fmt::format("{}: {}", path.string(), st.error().message));
      return out;
    }
    out.from = 1;
  }
  out.backup = backupPath(path, out.from);
  if (auto st = backup(db, out.backup); !st) return st.error();
  if (auto st = migrate(db, out.from, kSchemaVersion); !st)
    return makeError(
        "schema_migration",
        fmt::format("{}: migrating from schema version {} to {} failed, the database is "
                    "unchanged (copy in {}): {}",
                    path.string(), out.from, kSchemaVersion, out.backup.string(),
                    st.error().message));
  return out;
}

}  // namespace drover::state
