#include "dhcp/server/sqlite_lease_store.hpp"

#include <sqlite3.h>

namespace drover::dhcp {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS dhcp_leases (
  ip INTEGER PRIMARY KEY,
  client_key BLOB NOT NULL,
  mac TEXT NOT NULL,
  state INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  network TEXT NOT NULL,
  hostname TEXT NOT NULL
))sql";

// PRAGMA user_version: 0 (made before versions) and 1 are this layout.
constexpr int kLeaseSchemaVersion = 1;
constexpr const char* kSetVersion = "PRAGMA user_version = 1";

constexpr const char* kPut =
    "INSERT OR REPLACE INTO dhcp_leases (ip, client_key, mac, state, expires, network, hostname) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kRemove = "DELETE FROM dhcp_leases WHERE ip = ?1";
constexpr const char* kSelect =
    "SELECT ip, client_key, mac, state, expires, network, hostname FROM dhcp_leases ORDER BY ip";

std::string columnText(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p),
                                    static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
                      : std::string();
}

}  // namespace

Result<std::unique_ptr<SqliteLeaseStore>> SqliteLeaseStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return makeError("store_open", path + ": " + msg);
  }
  std::unique_ptr<SqliteLeaseStore> store(new SqliteLeaseStore(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    if (auto st = store->exec(sql); !st) return st.error();
  }
  if (auto st = store->checkVersion(path); !st) return st.error();
  for (const char* sql : {kSchema, kSetVersion}) {
    if (auto st = store->exec(sql); !st) return st.error();
  }
  if (sqlite3_prepare_v2(db, kPut, -1, &store->put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, kRemove, -1, &store->remove_, nullptr) != SQLITE_OK)
    return store->lastError("prepare");
  return store;
}

SqliteLeaseStore::~SqliteLeaseStore() {
  sqlite3_finalize(put_);
  sqlite3_finalize(remove_);
  sqlite3_close(db_);
}

Status SqliteLeaseStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown";
    sqlite3_free(err);
    return makeError("store_error", msg);
  }
  return {};
}

Status SqliteLeaseStore::checkVersion(const std::string& path) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &s, nullptr) != SQLITE_OK)
    return lastError("user_version");
  const int version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
  sqlite3_finalize(s);
  if (version <= kLeaseSchemaVersion) return {};
  return makeError("schema_too_new",
                   path + ": the lease database has schema version " + std::to_string(version) +
                       ", newer than this drover knows (version " +
                       std::to_string(kLeaseSchemaVersion) + "): it was written by a newer drover");
}

Error SqliteLeaseStore::lastError(const std::string& what) const {
  return makeError("store_error", what + ": " + sqlite3_errmsg(db_));
}

Result<std::vector<Lease>> SqliteLeaseStore::loadAll() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, kSelect, -1, &s, nullptr) != SQLITE_OK) return lastError("select");
  std::vector<Lease> out;
  int rc = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Lease l;
    l.ip = Ipv4Address(static_cast<std::uint32_t>(sqlite3_column_int64(s, 0)));
    const auto* key = static_cast<const char*>(sqlite3_column_blob(s, 1));
    l.client_key.assign(key != nullptr ? key : "",
                        static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
    l.mac = MacAddress::parse(columnText(s, 2)).valueOr(MacAddress{});
    l.state = static_cast<LeaseState>(sqlite3_column_int(s, 3));
    l.expires = sqlite3_column_int64(s, 4);
    l.network = columnText(s, 5);
    l.hostname = columnText(s, 6);
    out.push_back(std::move(l));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return lastError("select");
  return out;
}

Status SqliteLeaseStore::apply(std::span<const LeaseWrite> writes) {
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE"); !st) return st;
  for (const auto& w : writes) {
    const auto& l = w.lease;
    sqlite3_stmt* s = w.op == LeaseWrite::Op::Put ? put_ : remove_;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, l.ip.value());
    if (w.op == LeaseWrite::Op::Put) {
      const std::string mac = l.mac.str();
      sqlite3_bind_blob(s, 2, l.client_key.data(), static_cast<int>(l.client_key.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 3, mac.data(), static_cast<int>(mac.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int(s, 4, static_cast<int>(l.state));
      sqlite3_bind_int64(s, 5, l.expires);
      sqlite3_bind_text(s, 6, l.network.data(), static_cast<int>(l.network.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 7, l.hostname.data(), static_cast<int>(l.hostname.size()),
                        SQLITE_TRANSIENT);
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
      Error e = lastError("write");
      sqlite3_reset(s);
      (void)exec("ROLLBACK");
      return e;
    }
  }
  sqlite3_reset(put_);
  sqlite3_reset(remove_);
  if (auto st = exec("COMMIT"); !st) {
    (void)exec("ROLLBACK");
    return st;
  }
  return {};
}

}  // namespace drover::dhcp
