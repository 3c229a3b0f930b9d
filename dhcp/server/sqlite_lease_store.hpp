// The default lease store: one SQLite database in WAL mode with synchronous=FULL, so a
// committed transaction survives a crash or power loss. apply() is one transaction: the
// group committer hands it many writes at once, so one fsync covers many leases.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "dhcp/server/lease_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace drover::dhcp {

class SqliteLeaseStore final : public LeaseStore {
 public:
  // Opens (creating if needed) the database at `path` and its dhcp_leases table.
  static Result<std::unique_ptr<SqliteLeaseStore>> open(const std::string& path);
  ~SqliteLeaseStore() override;

  SqliteLeaseStore(const SqliteLeaseStore&) = delete;
  SqliteLeaseStore& operator=(const SqliteLeaseStore&) = delete;

  Result<std::vector<Lease>> loadAll() override;
  Status apply(std::span<const LeaseWrite> writes) override;

 private:
  explicit SqliteLeaseStore(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  Status checkVersion(const std::string& path);
  Error lastError(const std::string& what) const;

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* remove_ = nullptr;
};

}  // namespace drover::dhcp
