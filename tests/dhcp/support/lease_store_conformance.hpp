// The suite every LeaseStore backend must pass (typed, parameterised tests). A backend's
// test instantiates it with a factory: make() opens a fresh store, reopen() opens the same
// data again (a restart):
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, LeaseStoreConformance, ::testing::Types<Factory>);
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "dhcp/server/group_commit.hpp"
#include "tests/dhcp/support/packets.hpp"

namespace drover::dhcp::test {

inline Lease leaseFor(std::uint32_t n, LeaseState state = LeaseState::Bound) {
  return Lease{Ipv4Address(0xc0000200 + n),
               "\x01key" + std::to_string(n),
               macFor(n),
               state,
               1'700'000'000 + n,
               "rack1",
               n % 2 ? "node-" + std::to_string(n) : ""};
}

inline LeaseWrite put(const Lease& l) {
  return LeaseWrite{LeaseWrite::Op::Put, l};
}
inline LeaseWrite removal(const Lease& l) {
  return LeaseWrite{LeaseWrite::Op::Remove, l};
}

template <typename Backend>
class LeaseStoreConformance : public ::testing::Test {
 protected:
  Backend backend_;
};

TYPED_TEST_SUITE_P(LeaseStoreConformance);

TYPED_TEST_P(LeaseStoreConformance, StartsEmpty) {
  auto store = this->backend_.make();
  auto all = store->loadAll();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TYPED_TEST_P(LeaseStoreConformance, PutThenLoadReturnsEveryField) {
  auto store = this->backend_.make();
  std::vector<LeaseWrite> writes{put(leaseFor(1)), put(leaseFor(2, LeaseState::Released)),
                                 put(leaseFor(3, LeaseState::Declined))};
  ASSERT_TRUE(store->apply(writes).ok());
  auto all = store->loadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0], leaseFor(1));
  EXPECT_EQ((*all)[1], leaseFor(2, LeaseState::Released));
  EXPECT_EQ((*all)[2], leaseFor(3, LeaseState::Declined));
}

TYPED_TEST_P(LeaseStoreConformance, PutReplacesTheLeaseForTheSameAddress) {
  auto store = this->backend_.make();
  ASSERT_TRUE(store->apply(std::vector{put(leaseFor(1))}).ok());
  Lease moved = leaseFor(1);
  moved.client_key = "other";
  moved.expires += 100;
  ASSERT_TRUE(store->apply(std::vector{put(moved)}).ok());
  auto all = store->loadAll();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0], moved);
}

TYPED_TEST_P(LeaseStoreConformance, WritesApplyInOrder) {
  auto store = this->backend_.make();
  ASSERT_TRUE(store
                  ->apply(std::vector{put(leaseFor(1)), removal(leaseFor(1)), put(leaseFor(2)),
                                      removal(leaseFor(9))})
                  .ok());
  auto all = store->loadAll();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].ip, leaseFor(2).ip);
}

TYPED_TEST_P(LeaseStoreConformance, BinaryClientKeysSurvive) {
  auto store = this->backend_.make();
  Lease l = leaseFor(1);
  l.client_key = std::string("\x00\x01\xff\x00", 4);
  ASSERT_TRUE(store->apply(std::vector{put(l)}).ok());
  EXPECT_EQ((*store->loadAll())[0].client_key, l.client_key);
}

TYPED_TEST_P(LeaseStoreConformance, ReopenRestoresEverything) {
  {
    auto store = this->backend_.make();
    std::vector<LeaseWrite> writes;
    for (std::uint32_t n = 1; n <= 200; ++n) writes.push_back(put(leaseFor(n)));
    ASSERT_TRUE(store->apply(writes).ok());
    ASSERT_TRUE(store->apply(std::vector{removal(leaseFor(7))}).ok());
  }
  auto again = this->backend_.reopen();
  auto all = again->loadAll();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 199u);
}

TYPED_TEST_P(LeaseStoreConformance, GroupCommitMakesEveryWriteDurable) {
  auto store = this->backend_.make();
  metrics::Registry registry;
  std::atomic<int> done{0}, failed{0};
  constexpr int kWriters = 4, kEach = 250;
  {
    GroupCommitter committer(*store, registry);
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; i < kEach; ++i) {
          committer.submit({put(leaseFor(static_cast<std::uint32_t>(w * kEach + i)))},
                           [&](const Status& st) { st.ok() ? ++done : ++failed; });
        }
      });
    }
    for (auto& t : writers) t.join();
  }  // destructor drains
  EXPECT_EQ(done.load(), kWriters * kEach);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(store->loadAll()->size(), static_cast<std::size_t>(kWriters * kEach));
  EXPECT_EQ(registry.valueForTest("dhcp_store_writes_total"), kWriters * kEach);
}

TYPED_TEST_P(LeaseStoreConformance, WritesQueuedDuringACommitShareTheNextOne) {
  // The first write's callback holds the committer thread until 100 more writes are queued:
  // they must all go in one commit after it, two commits in all.
  auto store = this->backend_.make();
  metrics::Registry registry;
  constexpr int kQueued = 100;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0}, failed{0};
  const auto count = [&](const Status& st) { st.ok() ? ++done : ++failed; };
  {
    GroupCommitter committer(*store, registry);
    committer.submit({put(leaseFor(1))}, [&, released](const Status& st) {
      count(st);
      released.wait();
    });
    for (int i = 0; i < 10000 && registry.valueForTest("dhcp_store_commits_total") < 1; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(registry.valueForTest("dhcp_store_commits_total"), 1);  // not ASSERT: release below
    for (int i = 0; i < kQueued; ++i) committer.submit({put(leaseFor(static_cast<std::uint32_t>(2 + i)))}, count);
    release.set_value();
  }  // destructor drains
  EXPECT_EQ(done.load(), 1 + kQueued);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(registry.valueForTest("dhcp_store_commits_total"), 2);
  EXPECT_EQ(store->loadAll()->size(), static_cast<std::size_t>(1 + kQueued));
}

REGISTER_TYPED_TEST_SUITE_P(LeaseStoreConformance, StartsEmpty, PutThenLoadReturnsEveryField,
                            PutReplacesTheLeaseForTheSameAddress, WritesApplyInOrder,
                            BinaryClientKeysSurvive, ReopenRestoresEverything,
                            GroupCommitMakesEveryWriteDurable, WritesQueuedDuringACommitShareTheNextOne);

}  // namespace drover::dhcp::test
