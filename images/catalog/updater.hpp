// Keeping the catalog current in the background (`drover serve`, docs/images.md):
//
//  - Schedule: which update checks and collections are due, over an injectable clock. An
//    artifact with an update.interval is checked `interval + jitter` after its last check
//    (its own, or another replica's as the index says); the jitter, drawn anew each time,
//    is up to a tenth of the interval (at most max_jitter), and a restart spreads overdue
//    checks over one jitter too, so many images do not fire at once. Only cached artifacts
//    are checked (the first fetch stays with the first use). Collection runs every half
//    of the shortest declared expire (between min and max_collect_period). At most
//    max_concurrent tasks run at once, one per artifact.
//  - Updater: worker threads (max_concurrent of them, never the DHCP/TFTP/HTTP io threads)
//    that take due tasks from a Schedule and run them through hooks (the catalog's check()
//    and collect() in `drover serve`, fakes in tests). A hook's failure is a value in its
//    report; an exception is caught and logged; either way the next one runs on time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "images/catalog/catalog.hpp"
#include "images/store/index.hpp"

namespace drover::images::catalog {

struct ScheduleOptions {
  std::function<std::int64_t()> now_ms{};  // unix ms; default: the system clock
  std::function<double()> random{};        // in [0, 1): the jitter; default: a seeded engine
  std::size_t max_concurrent = 2;
  std::chrono::milliseconds max_jitter{60'000};
  std::chrono::milliseconds min_collect_period{1'000};
  std::chrono::milliseconds max_collect_period{600'000};
};

struct Task {
  enum class Kind { kCheck, kCollect };
  Kind kind = Kind::kCheck;
  std::string key{};           // "image/kind" (checks)
  ArtifactSpec spec{};         // checks
  std::int64_t jitter_ms = 0;  // checks: the next one is due interval + this after this one
  const std::atomic<bool>* cancel = nullptr;  // the Updater's: set when it stops
};

class Schedule {
 public:
  explicit Schedule(ScheduleOptions options);

  // The declared artifacts, on start and after every reload: those with an interval are
  // checked; collection runs while any has an expire.
  void setSpecs(const std::vector<ArtifactSpec>& specs);
  // What the index says: which artifacts are cached, and when each was last checked (a
  // later check by another replica postpones ours).
  void observe(const store::IndexData& index);
  // Up to `limit` due tasks (fewer when max_concurrent are running), earliest first; each
  // runs until finished().
  std::vector<Task> take(std::size_t limit);
  // `checked_ms`: when upstream was asked (0: not known, e.g. the check was skipped).
  void finished(const Task& task, std::int64_t checked_ms);

  // Unix ms when the next task is due; INT64_MAX when none is.
  std::int64_t nextDue() const;
  // When the artifact is next checked; 0 when it is not (no interval, not cached).
  std::int64_t dueOf(const std::string& key) const;
  std::size_t running() const { return running_; }
  const std::vector<ArtifactSpec>& specs() const { return specs_; }
  std::int64_t now() const;

 private:
  struct Slot {
    ArtifactSpec spec{};
    bool cached = false;
    bool running = false;
    std::int64_t checked_ms = 0;
    std::int64_t jitter_ms = 0;
    std::int64_t not_before_ms = 0;
  };
  std::int64_t due(const Slot& s) const;
  std::int64_t jitter(std::chrono::seconds interval);

  ScheduleOptions options_;
  std::vector<ArtifactSpec> specs_;
  std::map<std::string, Slot> slots_;
  std::int64_t collect_period_ms_ = 0;  // 0: nothing to collect
  std::int64_t last_collect_ms_ = 0;
  bool collect_running_ = false;
  std::size_t running_ = 0;
  std::uint64_t seed_ = 0;
};

struct UpdaterHooks {
  std::function<std::vector<ArtifactSpec>()> specs{};  // asked before every task
  std::function<Result<store::IndexData>()> index{};
  std::function<CheckReport(const Task&)> check{};
  std::function<Status(const std::vector<ArtifactSpec>&)> collect{};
};

class Updater {
 public:
  // `rescan`: the longest a worker sleeps before reading specs and index again.
  Updater(ScheduleOptions options, UpdaterHooks hooks,
          std::chrono::milliseconds rescan = std::chrono::seconds(30));
  ~Updater();
  Updater(const Updater&) = delete;
  Updater& operator=(const Updater&) = delete;

  void start();
  // Asks the workers to stop (a download under way is cancelled) and joins them.
  void stop();
  // Re-read the declared artifacts now (after a reload).
  void wake();

 private:
  void work();

  Schedule schedule_;
  UpdaterHooks hooks_;
  std::chrono::milliseconds rescan_;
  std::size_t workers_ = 1;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
  std::uint64_t wakes_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace drover::images::catalog
