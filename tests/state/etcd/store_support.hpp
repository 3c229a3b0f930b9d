// EtcdStore in the tests: one real etcd member per test suite (tests/support/etcd_server.hpp),
// and each store on its own client with a key prefix no other test uses.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "state/etcd/store.hpp"
#include "tests/support/etcd_server.hpp"

namespace drover::state {

struct EtcdFactory {
  static inline test::EtcdServer* server = nullptr;
  static inline std::string start_log;

  static void setUpSuite() {
    if (!test::etcdAvailable()) return;
    server = new test::EtcdServer;
    if (!server->start()) {
      start_log = server->log();
      delete server;
      server = nullptr;
    }
  }
  static void tearDownSuite() {
    delete server;
    server = nullptr;
  }
  // Skips without etcd (fails when CI is set); fails when it did not start.
  void setUp() {
    DROVER_REQUIRE_ETCD();
    ASSERT_NE(server, nullptr) << "etcd did not start:\n" << start_log;
  }

  // A client of its own, as another replica would have.
  static std::shared_ptr<etcd::Client> client() {
    auto c = etcd::Client::create({server->endpoint});
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return std::make_shared<etcd::Client>(std::move(*c));
  }
  // "/drover-test/<n>-<test name>": unique in the process.
  static std::string uniquePrefix() {
    static std::atomic<int> n{0};
    return "/drover-test/" + std::to_string(++n) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  std::unique_ptr<StateStore> make(const std::filesystem::path&) {
    return std::make_unique<EtcdStore>(client(), uniquePrefix());
  }
};

}  // namespace drover::state
