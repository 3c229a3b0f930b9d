// StateStore on one SQLite database in WAL mode with synchronous=FULL: a call that
// writes returns only after its transaction is durable. One connection, serialised by a
// mutex (the provisioner's write rate is a few per node boot); batch timeline entries with
// appendTimeline or updateNode to keep fsyncs down.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "state/store.hpp"

struct sqlite3;

namespace drover::state {

class StmtCache;

class SqliteStore final : public StateStore {
 public:
  // Opens (creating if needed) the database file; an older layout is migrated first, a
  // newer one refused (state/sqlite_schema.hpp).
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path);
  ~SqliteStore() override;

  Result<std::optional<NodeRecord>> getNode(const std::string& name) override;
  Result<std::optional<NodeRecord>> findByMac(const std::string& mac) override;
  Result<std::optional<NodeRecord>> findByUuid(const std::string& uuid) override;
  Result<std::vector<NodeRecord>> listNodes() override;
  Result<NodeRecord> updateNode(const std::string& name, const UpdateFn& fn,
                                const std::vector<TimelineEntry>& entries) override;
  drover::Status appendTimeline(const std::string& name,
                                const std::vector<TimelineEntry>& entries) override;
  Result<std::vector<TimelineEntry>> timeline(const std::string& name, std::size_t limit) override;
  Result<std::map<std::string, TimelineEntry>> lastEvents() override;
  drover::Status removeNode(const std::string& name) override;
  drover::Status putToken(const TokenRecord& token) override;
  Result<std::optional<TokenRecord>> takeToken(const std::string& hash) override;
  Result<bool> claimToken(const TokenRecord& token) override;
  Result<std::size_t> purgeExpiredTokens(std::int64_t now_ms) override;
  Result<std::optional<HandoffRecord>> updateHandoff(const std::string& node,
                                                     const HandoffFn& fn) override;
  Result<std::optional<HandoffRecord>> getHandoff(const std::string& node) override;
  Result<std::vector<HandoffRecord>> listHandoffs() override;

 private:
  explicit SqliteStore(sqlite3* db);
  drover::Status exec(const char* sql);
  Result<std::optional<NodeRecord>> queryOne(const char* sql, const std::string& key);
  Result<std::optional<HandoffRecord>> handoffOf(const std::string& node);  // under mu_
  drover::Status insertTimeline(const std::string& name, const std::vector<TimelineEntry>& entries);

  std::mutex mu_;
  sqlite3* db_;
  std::unique_ptr<StmtCache> stmts_;  // under mu_
};

}  // namespace drover::state
