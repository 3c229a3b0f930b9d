#include "state/sqlite_store.hpp"

#include <sqlite3.h>

#include <string>
#include <unordered_map>
#include <utility>

#include "common/log.hpp"
#include "state/sqlite_schema.hpp"

namespace drover::state {
namespace {

constexpr const char* kNodeColumns =
    "SELECT name, mac, uuid, state, reinstall, state_since, facts, install_version, "
    "credential_hash, "
    "capture, capture_image, capture_token_hash FROM nodes ";

constexpr const char* kHandoffColumns =
    "SELECT node, method, attempt, id, mac, requested, deadline, delivered, rebooting FROM "
    "handoffs ";

}  // namespace

// The connection's prepared statements, kept for its life: preparing a statement costs more
// than running it, and a node's boot script reads the store on every request. Used only
// under the store's mutex.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache() {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  }
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  sqlite3* db() const { return db_; }
  // The statement for `sql`, prepared on first use; SQLite's error code when it cannot be.
  int get(const char* sql, sqlite3_stmt** out) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) {
      *out = it->second;
      return SQLITE_OK;
    }
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(*out);
      *out = nullptr;
      return rc;
    }
    stmts_.emplace(sql, *out);
    return SQLITE_OK;
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

namespace {

// One cached prepared statement, reset and unbound on scope exit.
class Stmt {
 public:
  Stmt(StmtCache& cache, const char* sql) : db_(cache.db()) { rc_ = cache.get(sql, &stmt_); }
  Stmt(StmtCache& cache, const std::string& sql) : Stmt(cache, sql.c_str()) {}
  ~Stmt() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& bind(int i, const std::string& s) {
    if (ok())
      rc_ = sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    if (ok()) rc_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return ok() ? sqlite3_step(stmt_) : rc_; }
  std::string text(int col) const {
    auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  Error error() const { return makeError("store_error", sqlite3_errmsg(db_)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

NodeRecord readNode(const Stmt& s) {
  NodeRecord r;
  r.name = s.text(0);
  r.mac = s.text(1);
  r.uuid = s.text(2);
  r.status.state = parseNodeState(s.text(3)).value_or(NodeState::kDiscovered);
  r.status.reinstall_requested = s.integer(4) != 0;
  r.state_since_ms = s.integer(5);
  r.facts_json = s.text(6);
  r.install_version = s.text(7);
  r.credential_hash = s.text(8);
  r.status.capture_requested = s.integer(9) != 0;
  r.capture_image = s.text(10);
  r.capture_token_hash = s.text(11);
  return r;
}

HandoffRecord readHandoff(const Stmt& s) {
  HandoffRecord h;
  h.node = s.text(0);
  h.method = s.text(1);
  h.attempt = static_cast<int>(s.integer(2));
  h.id = s.text(3);
  h.mac = s.text(4);
  h.requested_ms = s.integer(5);
  h.deadline_ms = s.integer(6);
  h.delivered = s.integer(7) != 0;
  h.rebooting = s.integer(8) != 0;
  return h;
}

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    ok_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Transaction() {
    if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  bool ok() const { return ok_; }
  drover::Status commit() {
    done_ = true;
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      Error e = makeError("store_error", sqlite3_errmsg(db_));
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return e;
    }
    return {};
  }

 private:
  sqlite3* db_;
  bool ok_ = false;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return makeError("store_open", path.string() + ": " + msg);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto st = store->exec(pragma); !st) return st.error();
  }
  auto schema = openSchema(db, path);
  if (!schema) return schema.error();
  if (!schema->backup.empty())
    log::get("state")->info("STATE_MIGRATED db={} from={} to={} backup={}", path.string(),
                            schema->from, schema->to, schema->backup.string());
  return store;
}

SqliteStore::SqliteStore(sqlite3* db) : db_(db), stmts_(std::make_unique<StmtCache>(db)) {}

SqliteStore::~SqliteStore() {
  stmts_.reset();  // statements first: a connection with live statements does not close
  sqlite3_close(db_);
}

drover::Status SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return makeError("store_error", msg);
  }
  return {};
}

Result<std::optional<NodeRecord>> SqliteStore::queryOne(const char* where, const std::string& key) {
  std::lock_guard lock(mu_);
  Stmt s(*stmts_, std::string(kNodeColumns) + where);
  s.bind(1, key);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<NodeRecord>(readNode(s));
  if (rc == SQLITE_DONE) return std::optional<NodeRecord>();
  return s.error();
}

Result<std::optional<NodeRecord>> SqliteStore::getNode(const std::string& name) {
  return queryOne("WHERE name = ?1", name);
}

Result<std::optional<NodeRecord>> SqliteStore::findByMac(const std::string& mac) {
  if (mac.empty()) return std::optional<NodeRecord>();
  return queryOne("WHERE mac = ?1 ORDER BY name LIMIT 1", mac);
}

Result<std::optional<NodeRecord>> SqliteStore::findByUuid(const std::string& uuid) {
  if (uuid.empty()) return std::optional<NodeRecord>();
  return queryOne("WHERE uuid = ?1 ORDER BY name LIMIT 1", uuid);
}

Result<std::vector<NodeRecord>> SqliteStore::listNodes() {
  std::lock_guard lock(mu_);
  Stmt s(*stmts_, std::string(kNodeColumns) + "ORDER BY name");
  std::vector<NodeRecord> out;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(readNode(s));
  if (rc != SQLITE_DONE) return s.error();
  return out;
}

drover::Status SqliteStore::insertTimeline(const std::string& name,
                                           const std::vector<TimelineEntry>& entries) {
  for (const auto& e : entries) {
    Stmt s(*stmts_, "INSERT INTO timeline(node, ts, phase, message) VALUES (?1, ?2, ?3, ?4)");
    s.bind(1, name).bind(2, e.ts_ms).bind(3, e.phase).bind(4, e.message);
    if (s.step() != SQLITE_DONE) return s.error();
  }
  return {};
}

Result<NodeRecord> SqliteStore::updateNode(const std::string& name, const UpdateFn& fn,
                                           const std::vector<TimelineEntry>& entries) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return makeError("store_error", sqlite3_errmsg(db_));
  std::optional<NodeRecord> current;
  {
    Stmt s(*stmts_, std::string(kNodeColumns) + "WHERE name = ?1");
    s.bind(1, name);
    int rc = s.step();
    if (rc == SQLITE_ROW)
      current = readNode(s);
    else if (rc != SQLITE_DONE)
      return s.error();
  }
  auto next = fn(current);
  if (!next) return next.error();
  next->name = name;
  {
    Stmt s(
        *stmts_,
        "INSERT INTO nodes(name, mac, uuid, state, reinstall, state_since, facts, install_version, "
        "credential_hash, "
        "capture, capture_image, capture_token_hash) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT(name) DO UPDATE "
        "SET "
        "mac = excluded.mac, uuid = excluded.uuid, state = excluded.state, reinstall = "
        "excluded.reinstall, "
        "state_since = excluded.state_since, facts = excluded.facts, install_version = "
        "excluded.install_version, "
        "credential_hash = excluded.credential_hash, capture = excluded.capture, "
        "capture_image = excluded.capture_image, capture_token_hash = excluded.capture_token_hash");
    s.bind(1, name)
        .bind(2, next->mac)
        .bind(3, next->uuid)
        .bind(4, std::string(toString(next->status.state)));
    s.bind(5, std::int64_t{next->status.reinstall_requested ? 1 : 0}).bind(6, next->state_since_ms);
    s.bind(7, next->facts_json).bind(8, next->install_version).bind(9, next->credential_hash);
    s.bind(10, std::int64_t{next->status.capture_requested ? 1 : 0}).bind(11, next->capture_image);
    s.bind(12, next->capture_token_hash);
    if (s.step() != SQLITE_DONE) return s.error();
  }
  if (auto st = insertTimeline(name, entries); !st) return st.error();
  if (auto st = tx.commit(); !st) return st.error();
  return next;
}

drover::Status SqliteStore::appendTimeline(const std::string& name,
                                           const std::vector<TimelineEntry>& entries) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return makeError("store_error", sqlite3_errmsg(db_));
  if (auto st = insertTimeline(name, entries); !st) return st;
  return tx.commit();
}

Result<std::vector<TimelineEntry>> SqliteStore::timeline(const std::string& name,
                                                         std::size_t limit) {
  std::lock_guard lock(mu_);
  Stmt s(
      *stmts_,
      "SELECT ts, phase, message FROM (SELECT id, ts, phase, message FROM timeline WHERE node = ?1 "
      "ORDER BY id DESC LIMIT ?2) ORDER BY id");
  s.bind(1, name).bind(2, static_cast<std::int64_t>(limit));
  std::vector<TimelineEntry> out;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.integer(0), s.text(1), s.text(2)});
  if (rc != SQLITE_DONE) return s.error();
  return out;
}

Result<std::map<std::string, TimelineEntry>> SqliteStore::lastEvents() {
  std::lock_guard lock(mu_);
  // MAX(id) per node comes from the (node, id) index without reading the entries.
  Stmt s(*stmts_,
         "SELECT t.node, t.ts, t.phase, t.message FROM timeline t JOIN (SELECT node, MAX(id) AS id "
         "FROM timeline GROUP BY node) m ON t.id = m.id");
  std::map<std::string, TimelineEntry> out;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) out[s.text(0)] = {s.integer(1), s.text(2), s.text(3)};
  if (rc != SQLITE_DONE) return s.error();
  return out;
}

drover::Status SqliteStore::removeNode(const std::string& name) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  for (const char* sql :
       {"DELETE FROM nodes WHERE name = ?1", "DELETE FROM timeline WHERE node = ?1",
        "DELETE FROM handoffs WHERE node = ?1"}) {
    Stmt s(*stmts_, sql);
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return s.error();
  }
  return tx.commit();
}

drover::Status SqliteStore::putToken(const TokenRecord& token) {
  std::lock_guard lock(mu_);
  Stmt s(*stmts_,
         "INSERT OR REPLACE INTO tokens(hash, kind, node, expires) VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, token.hash).bind(2, token.kind).bind(3, token.node).bind(4, token.expires_ms);
  if (s.step() != SQLITE_DONE) return s.error();
  return {};
}

Result<std::optional<TokenRecord>> SqliteStore::takeToken(const std::string& hash) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return makeError("store_error", sqlite3_errmsg(db_));
  std::optional<TokenRecord> rec;
  {
    Stmt s(*stmts_, "SELECT hash, kind, node, expires FROM tokens WHERE hash = ?1");
    s.bind(1, hash);
    int rc = s.step();
    if (rc == SQLITE_ROW)
      rec = TokenRecord{s.text(0), s.text(1), s.text(2), s.integer(3)};
    else if (rc != SQLITE_DONE)
      return s.error();
  }
  if (!rec) return rec;
  Stmt del(*stmts_, "DELETE FROM tokens WHERE hash = ?1");
  del.bind(1, hash);
  if (del.step() != SQLITE_DONE) return del.error();
  if (auto st = tx.commit(); !st) return st.error();
  return rec;
}

Result<bool> SqliteStore::claimToken(const TokenRecord& token) {
  std::lock_guard lock(mu_);
  Stmt s(*stmts_,
         "INSERT OR IGNORE INTO tokens(hash, kind, node, expires) VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, token.hash).bind(2, token.kind).bind(3, token.node).bind(4, token.expires_ms);
  if (s.step() != SQLITE_DONE) return s.error();
  return sqlite3_changes(db_) == 1;
}

Result<std::size_t> SqliteStore::purgeExpiredTokens(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Stmt s(*stmts_, "DELETE FROM tokens WHERE expires < ?1");
  s.bind(1, now_ms);
  if (s.step() != SQLITE_DONE) return s.error();
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

Result<std::optional<HandoffRecord>> SqliteStore::handoffOf(const std::string& node) {
  Stmt s(*stmts_, std::string(kHandoffColumns) + "WHERE node = ?1");
  s.bind(1, node);
  const int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<HandoffRecord>(readHandoff(s));
  if (rc == SQLITE_DONE) return std::optional<HandoffRecord>();
  return s.error();
}

Result<std::optional<HandoffRecord>> SqliteStore::updateHandoff(const std::string& node,
                                                                const HandoffFn& fn) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return makeError("store_error", sqlite3_errmsg(db_));
  auto current = handoffOf(node);
  if (!current) return current.error();
  auto next = fn(*current);
  if (!next) return next.error();
  if (*next) {
    auto& h = **next;
    h.node = node;
    Stmt s(*stmts_,
           "INSERT OR REPLACE INTO handoffs(node, method, attempt, id, mac, requested, deadline, "
           "delivered, rebooting) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    s.bind(1, node).bind(2, h.method).bind(3, std::int64_t{h.attempt}).bind(4, h.id).bind(5, h.mac);
    s.bind(6, h.requested_ms).bind(7, h.deadline_ms);
    s.bind(8, std::int64_t{h.delivered ? 1 : 0}).bind(9, std::int64_t{h.rebooting ? 1 : 0});
    if (s.step() != SQLITE_DONE) return s.error();
  } else {
    Stmt s(*stmts_, "DELETE FROM handoffs WHERE node = ?1");
    s.bind(1, node);
    if (s.step() != SQLITE_DONE) return s.error();
  }
  if (auto st = tx.commit(); !st) return st.error();
  return next;
}

Result<std::optional<HandoffRecord>> SqliteStore::getHandoff(const std::string& node) {
  std::lock_guard lock(mu_);
  return handoffOf(node);
}

Result<std::vector<HandoffRecord>> SqliteStore::listHandoffs() {
  std::lock_guard lock(mu_);
  Stmt s(*stmts_, std::string(kHandoffColumns) + "ORDER BY node");
  std::vector<HandoffRecord> out;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(readHandoff(s));
  if (rc != SQLITE_DONE) return s.error();
  return out;
}

}  // namespace drover::state
