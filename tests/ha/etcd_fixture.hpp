// One etcd member for the ha suites, started once per test binary; each test gets its own
// key prefix and its own clients.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/etcd_server.hpp"

namespace drover::ha::test {

class SharedEtcd {
 public:
  // The member, started on first use; null (with why() set) when it could not start.
  static drover::test::EtcdServer* get() {
    static std::unique_ptr<drover::test::EtcdServer> server = [] {
      auto s = std::make_unique<drover::test::EtcdServer>();
      if (!drover::test::etcdAvailable()) return std::unique_ptr<drover::test::EtcdServer>();
      if (!s->start()) {
        why() = s->log();
        return std::unique_ptr<drover::test::EtcdServer>();
      }
      return s;
    }();
    return server.get();
  }
  static std::string& why() {
    static std::string w;
    return w;
  }
  static std::unique_ptr<etcd::Client> client() {
    auto c = etcd::Client::create({get()->endpoint});
    EXPECT_TRUE(c.ok());
    return std::make_unique<etcd::Client>(std::move(*c));
  }
  // A prefix no other test uses.
  static std::string prefix() {
    static int n = 0;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string("/t/") + info->test_suite_name() + "." + info->name() + "." +
           std::to_string(++n);
  }
};

}  // namespace drover::ha::test

// In SetUp or a test body: skip (or fail under CI) without etcd; fail when it did not start.
#define DROVER_REQUIRE_SHARED_ETCD()                          \
  do {                                                        \
    DROVER_REQUIRE_ETCD();                                    \
    ASSERT_NE(::drover::ha::test::SharedEtcd::get(), nullptr) \
        << "etcd did not start:\n"                            \
        << ::drover::ha::test::SharedEtcd::why();             \
  } while (0)
