// The background updater's schedule over a fake clock (due times, jitter, another
// replica's check, the concurrency bound, collection periods), and the Updater's worker
// threads over fake hooks (bounded in flight, a throwing check retried at the next interval).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>

#include "images/catalog/updater.hpp"

namespace drover::images::catalog {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kT0 = 1'700'000'000'000;

ArtifactSpec spec(const std::string& image, seconds interval, seconds expire = seconds(0)) {
  ArtifactSpec s;
  s.image = image;
  s.kind = "disk";
  s.url = "http://127.0.0.1:1/" + image;
  s.interval = interval;
  s.expire = expire;
  return s;
}

// An index where each named image's disk is cached and was last checked at `checked_ms`.
store::IndexData indexOf(const std::map<std::string, std::int64_t>& checked) {
  store::IndexData d;
  for (const auto& [image, ms] : checked) {
    auto& e = d.entry(image, "disk");
    e.checked_ms = ms;
    store::Version v;
    v.sha256 = *Sha256::parse(std::string(64, 'a'));
    e.versions.push_back(v);
  }
  return d;
}

class ScheduleTest : public ::testing::Test {
 protected:
  Schedule make(double r = 0.5, std::size_t max_concurrent = 2) {
    ScheduleOptions o;
    o.now_ms = [this] { return now_; };
    o.random = [r] { return r; };
    o.max_concurrent = max_concurrent;
    return Schedule(o);
  }
  std::int64_t now_ = kT0;
};

TEST_F(ScheduleTest, ACachedArtifactIsDueAnIntervalAndAJitterAfterItsLastCheck) {
  auto s = make(0.5);
  s.setSpecs({spec("os", seconds(100))});
  s.observe(indexOf({{"os", kT0 - 20'000}}));
  // interval 100 s: jitter up to 10 s, here half of it.
  EXPECT_EQ(s.dueOf("os/disk"), kT0 - 20'000 + 100'000 + 5'000);
  now_ = kT0 + 84'999;
  EXPECT_TRUE(s.take(4).empty());
  now_ = kT0 + 85'000;
  auto tasks = s.take(4);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].kind, Task::Kind::kCheck);
  EXPECT_EQ(tasks[0].key, "os/disk");
  EXPECT_EQ(tasks[0].jitter_ms, 5'000);
  EXPECT_TRUE(s.take(4).empty());  // one task per artifact
  EXPECT_EQ(s.running(), 1u);
  // Checked (or failed: the check's time is recorded either way): the next one an
  // interval later.
  s.finished(tasks[0], now_);
  EXPECT_EQ(s.running(), 0u);
  EXPECT_EQ(s.dueOf("os/disk"), now_ + 105'000);
}

TEST_F(ScheduleTest, OnlyCachedArtifactsWithAnIntervalAreChecked) {
  auto s = make();
  s.setSpecs({spec("os", seconds(60)), spec("never", seconds(0)), spec("fresh", seconds(60))});
  s.observe(indexOf({{"os", kT0 - 3'600'000}}));  // "fresh" is not cached yet
  EXPECT_EQ(s.dueOf("never/disk"), 0);
  EXPECT_EQ(s.dueOf("fresh/disk"), 0);
  now_ += 60'000;
  auto tasks = s.take(8);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].key, "os/disk");
}

TEST_F(ScheduleTest, ARestartSpreadsOverdueChecksOverOneJitter) {
  double r = 0.0;
  ScheduleOptions o;
  o.now_ms = [this] { return now_; };
  o.random = [&r] { return r += 0.25; };  // 0.25, 0.5, ...
  Schedule s(o);
  s.setSpecs({spec("a", seconds(600)), spec("b", seconds(600))});
  s.observe(indexOf({{"a", 1}, {"b", 1}}));  // both long overdue
  const auto a = s.dueOf("a/disk"), b = s.dueOf("b/disk");
  EXPECT_NE(a, b);
  for (auto d : {a, b}) {
    EXPECT_GT(d, kT0);
    EXPECT_LE(d, kT0 + 60'000);  // a tenth of the interval
  }
  std::printf("restart: overdue checks at +%lld ms and +%lld ms\n", static_cast<long long>(a - kT0),
              static_cast<long long>(b - kT0));
}

TEST_F(ScheduleTest, JitterIsATenthOfTheIntervalAtMostAndNeverAboveTheCap) {
  auto s = make(0.999);
  s.setSpecs({spec("short", seconds(10)), spec("long", seconds(7 * 24 * 3600))});
  s.observe(indexOf({{"short", kT0}, {"long", kT0}}));
  EXPECT_LE(s.dueOf("short/disk") - kT0, 10'000 + 1'000);
  EXPECT_GE(s.dueOf("short/disk") - kT0, 10'000);
  EXPECT_LE(s.dueOf("long/disk") - kT0, 7LL * 24 * 3600 * 1000 + 60'000);
}

TEST_F(ScheduleTest, AnotherReplicasCheckPostponesOurs) {
  auto s = make(0.0);
  s.setSpecs({spec("os", seconds(60))});
  s.observe(indexOf({{"os", kT0}}));
  EXPECT_EQ(s.dueOf("os/disk"), kT0 + 60'000);
  now_ = kT0 + 59'000;
  s.observe(indexOf({{"os", kT0 + 58'000}}));  // the other replica asked upstream
  EXPECT_EQ(s.dueOf("os/disk"), kT0 + 118'000);
  // An older time (a stale read) does not move it back.
  s.observe(indexOf({{"os", kT0}}));
  EXPECT_EQ(s.dueOf("os/disk"), kT0 + 118'000);
}

TEST_F(ScheduleTest, AtMostMaxConcurrentTasksRunAtOnceEarliestFirst) {
  auto s = make(0.0, 2);
  std::vector<ArtifactSpec> specs;
  std::map<std::string, std::int64_t> checked;
  for (int i = 0; i < 5; ++i) {
    specs.push_back(spec("img" + std::to_string(i), seconds(60)));
    checked["img" + std::to_string(i)] = kT0 - 60'000 - (5 - i) * 1000;  // img0 most overdue
  }
  s.setSpecs(specs);
  s.observe(indexOf(checked));
  auto first = s.take(10);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].key, "img0/disk");
  EXPECT_EQ(first[1].key, "img1/disk");
  EXPECT_TRUE(s.take(10).empty());
  s.finished(first[0], now_);
  auto next = s.take(10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key, "img2/disk");
}

TEST_F(ScheduleTest, CollectionRunsEveryHalfOfTheShortestExpire) {
  auto s = make(0.0, 2);
  s.setSpecs({spec("a", seconds(0), seconds(10)), spec("b", seconds(0), seconds(4))});
  EXPECT_EQ(s.nextDue(), kT0 + 2'000);
  now_ = kT0 + 1'999;
  EXPECT_TRUE(s.take(4).empty());
  now_ = kT0 + 2'000;
  auto tasks = s.take(4);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].kind, Task::Kind::kCollect);
  now_ = kT0 + 5'000;
  EXPECT_TRUE(s.take(4).empty());  // one collection at a time
  s.finished(tasks[0], 0);
  EXPECT_EQ(s.nextDue(), kT0 + 7'000);
  // Nothing expires: no collection.
  s.setSpecs({spec("a", seconds(60))});
  now_ = kT0 + 100'000;
  EXPECT_TRUE(s.take(4).empty());
}

TEST_F(ScheduleTest, ArtifactsDroppedByAReloadAreNoLongerChecked) {
  auto s = make(0.0);
  s.setSpecs({spec("a", seconds(60)), spec("b", seconds(60))});
  s.observe(indexOf({{"a", kT0 - 60'000}, {"b", kT0 - 60'000}}));
  auto tasks = s.take(1);
  ASSERT_EQ(tasks.size(), 1u);
  s.setSpecs({spec("b", seconds(60))});  // "a" undeclared while its check runs
  s.finished(tasks[0], now_);
  EXPECT_EQ(s.dueOf("a/disk"), 0);
  EXPECT_EQ(s.running(), 0u);
}

// Real threads, fake hooks: three artifacts checked every second by two workers; one check
// throws every time and is retried at its next interval; never more than two in flight.
TEST(UpdaterTest, WorkersRunDueChecksBoundedAndSurviveAThrowingCheck) {
  std::mutex mu;
  std::map<std::string, int> checks;
  std::atomic<int> in_flight{0}, max_in_flight{0};
  UpdaterHooks hooks;
  const std::vector<ArtifactSpec> specs = {spec("a", seconds(1)), spec("b", seconds(1)),
                                           spec("bad", seconds(1))};
  hooks.specs = [&] { return specs; };
  hooks.index = []() -> Result<store::IndexData> {
    return indexOf({{"a", 0}, {"b", 0}, {"bad", 0}});
  };
  hooks.check = [&](const Task& t) {
    const int now = ++in_flight;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    {
      std::lock_guard lock(mu);
      ++checks[t.key];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    --in_flight;
    if (t.spec.image == "bad") throw std::runtime_error("upstream exploded");
    return CheckReport{"unchanged", {}, {}, {}, 0};
  };
  ScheduleOptions o;
  o.random = [] { return 0.0; };
  o.max_concurrent = 2;
  Updater updater(o, hooks, std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  updater.start();
  auto enough = [&] {
    std::lock_guard lock(mu);
    return checks["a/disk"] >= 2 && checks["b/disk"] >= 2 && checks["bad/disk"] >= 2;
  };
  for (int i = 0; i < 200 && !enough(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  updater.stop();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf("updater: two rounds of three checks in %lld ms\n", static_cast<long long>(ms));
  EXPECT_TRUE(enough());
  EXPECT_LE(max_in_flight.load(), 2);
}

}  // namespace
}  // namespace drover::images::catalog
