// The lease store conformance suite (tests/dhcp/support/lease_store_conformance.hpp) on the
// embedded backends; the etcd one runs it in tests/ha.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>

#include "dhcp/server/group_commit.hpp"
#include "dhcp/server/sqlite_lease_store.hpp"
#include "tests/dhcp/support/lease_store_conformance.hpp"

namespace drover::dhcp::test {
namespace {

struct MemoryBackend {
  std::shared_ptr<MemoryLeaseStore> store = std::make_shared<MemoryLeaseStore>();
  std::shared_ptr<LeaseStore> make() { return store; }
  std::shared_ptr<LeaseStore> reopen() { return store; }
};

struct SqliteBackend {
  std::string path =
      (std::filesystem::temp_directory_path() /
       ("drover-leases-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".db"))
          .string();
  static inline std::atomic<int> counter{0};
  ~SqliteBackend() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  std::shared_ptr<LeaseStore> make() { return reopen(); }
  std::shared_ptr<LeaseStore> reopen() {
    auto s = SqliteLeaseStore::open(path);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return std::shared_ptr<LeaseStore>(std::move(*s));
  }
};

using Backends = ::testing::Types<MemoryBackend, SqliteBackend>;
INSTANTIATE_TYPED_TEST_SUITE_P(Embedded, LeaseStoreConformance, Backends);

TEST(SqliteLeaseSchema, ALeaseDatabaseFromANewerDroverIsRefused) {
  SqliteBackend backend;
  { auto first = backend.make(); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(backend.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteLeaseStore::open(backend.path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "schema_too_new");
  EXPECT_NE(s.error().message.find("schema version 7"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace drover::dhcp::test
