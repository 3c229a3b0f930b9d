#include "images/catalog/updater.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <random>

#include "common/log.hpp"
#include "images/catalog/internal.hpp"

namespace drover::images::catalog {

namespace {

using internal::logger;

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

using internal::toMs;

}  // namespace

Schedule::Schedule(ScheduleOptions options) : options_(std::move(options)) {
  if (!options_.now_ms)
    options_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  if (!options_.random) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    options_.random = [engine] {
      return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
    };
  }
  options_.max_concurrent = std::max<std::size_t>(1, options_.max_concurrent);
}

std::int64_t Schedule::now() const {
  return options_.now_ms();
}

std::int64_t Schedule::jitter(std::chrono::seconds interval) {
  const std::int64_t cap = std::min<std::int64_t>(toMs(interval) / 10, options_.max_jitter.count());
  const double r = std::clamp(options_.random(), 0.0, 1.0);
  return static_cast<std::int64_t>(r * static_cast<double>(std::max<std::int64_t>(cap, 0)));
}

void Schedule::setSpecs(const std::vector<ArtifactSpec>& specs) {
  specs_ = specs;
  const std::int64_t t = now();
  std::map<std::string, Slot> next;
  std::int64_t shortest = 0;
  for (const auto& s : specs) {
    if (s.expire.count() > 0 && (shortest == 0 || toMs(s.expire) < shortest))
      shortest = toMs(s.expire);
    if (s.interval.count() <= 0) continue;
    const std::string key = store::IndexData::key(s.image, s.kind);
    auto it = slots_.find(key);
    Slot slot;
    if (it != slots_.end()) {
      slot = std::move(it->second);
    } else {  // new here (a start or a reload): overdue checks spread over one jitter
      slot.not_before_ms = t + jitter(s.interval);
      slot.jitter_ms = jitter(s.interval);
    }
    if (slot.spec.interval != s.interval && it != slots_.end()) slot.jitter_ms = jitter(s.interval);
    slot.spec = s;
    next[key] = std::move(slot);
  }
  // A task still running for an artifact no longer declared keeps its count until it ends.
  for (auto& [key, slot] : slots_)
    if (slot.running && !next.contains(key)) {
      slot.spec.interval = std::chrono::seconds(0);
      next[key] = std::move(slot);
    }
  slots_ = std::move(next);
  collect_period_ms_ =
      shortest == 0 ? 0
                    : std::clamp<std::int64_t>(shortest / 2, options_.min_collect_period.count(),
                                               options_.max_collect_period.count());
  if (last_collect_ms_ == 0) last_collect_ms_ = t;
}

void Schedule::observe(const store::IndexData& index) {
  for (auto& [key, slot] : slots_) {
    if (slot.running) continue;
    const store::Entry* e = index.find(slot.spec.image, slot.spec.kind);
    slot.cached = e != nullptr && e->current() != nullptr;
    if (e == nullptr || e->checked_ms <= slot.checked_ms) continue;
    // Checked since (first sight, or another replica): the next one counts from there.
    slot.checked_ms = e->checked_ms;
    slot.jitter_ms = jitter(slot.spec.interval);
  }
}

std::int64_t Schedule::due(const Slot& s) const {
  if (!s.cached || s.running || s.spec.interval.count() <= 0) return kNever;
  return std::max(s.checked_ms + toMs(s.spec.interval) + s.jitter_ms, s.not_before_ms);
}

std::vector<Task> Schedule::take(std::size_t limit) {
  const std::int64_t t = now();
  std::vector<std::pair<std::int64_t, std::string>> ready;
  for (const auto& [key, slot] : slots_)
    if (const auto d = due(slot); d <= t) ready.emplace_back(d, key);
  std::sort(ready.begin(), ready.end());
  std::vector<Task> out;
  const bool collect_due =
      collect_period_ms_ > 0 && !collect_running_ && t >= last_collect_ms_ + collect_period_ms_;
  for (const auto& [d, key] : ready) {
    if (out.size() >= limit || running_ >= options_.max_concurrent) break;
    auto& slot = slots_.at(key);
    slot.running = true;
    ++running_;
    out.push_back(Task{Task::Kind::kCheck, key, slot.spec, jitter(slot.spec.interval)});
  }
  if (collect_due && out.size() < limit && running_ < options_.max_concurrent) {
    collect_running_ = true;
    ++running_;
    out.push_back(Task{Task::Kind::kCollect, "", {}, 0});
  }
  return out;
}

void Schedule::finished(const Task& task, std::int64_t checked_ms) {
  if (running_ > 0) --running_;
  if (task.kind == Task::Kind::kCollect) {
    collect_running_ = false;
    last_collect_ms_ = now();
    return;
  }
  auto it = slots_.find(task.key);
  if (it == slots_.end()) return;
  auto& slot = it->second;
  slot.running = false;
  if (slot.spec.interval.count() <= 0) {  // undeclared while it ran
    slots_.erase(it);
    return;
  }
  // Skipped or unknown: not checked here; wait an interval unless the index says otherwise.
  slot.checked_ms = checked_ms > 0 ? std::max(slot.checked_ms, checked_ms) : now();
  slot.jitter_ms = task.jitter_ms;
}

std::int64_t Schedule::nextDue() const {
  std::int64_t next = kNever;
  for (const auto& [key, slot] : slots_) next = std::min(next, due(slot));
  if (collect_period_ms_ > 0 && !collect_running_)
    next = std::min(next, last_collect_ms_ + collect_period_ms_);
  return next;
}

std::int64_t Schedule::dueOf(const std::string& key) const {
  auto it = slots_.find(key);
  if (it == slots_.end()) return 0;
  const auto d = due(it->second);
  return d == kNever ? 0 : d;
}

// --- Updater -------------------------------------------------------------------------------

Updater::Updater(ScheduleOptions options, UpdaterHooks hooks, std::chrono::milliseconds rescan)
    : schedule_(options),
      hooks_(std::move(hooks)),
      rescan_(rescan),
      workers_(std::max<std::size_t>(1, options.max_concurrent)) {}

Updater::~Updater() {
  stop();
}

void Updater::start() {
  std::lock_guard lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  cancel_ = false;
  for (std::size_t i = 0; i < workers_; ++i) threads_.emplace_back([this] { work(); });
}

void Updater::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cancel_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

void Updater::wake() {
  {
    std::lock_guard lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void Updater::work() {
  for (;;) {
    // Declaration and index are read without the lock: the index may be in etcd.
    auto specs = hooks_.specs ? hooks_.specs() : std::vector<ArtifactSpec>{};
    const bool any = std::any_of(specs.begin(), specs.end(), [](const ArtifactSpec& s) {
      return s.interval.count() > 0 || s.expire.count() > 0;
    });
    auto index =
        any && hooks_.index ? hooks_.index() : Result<store::IndexData>(store::IndexData{});
    std::unique_lock lock(mu_);
    if (stopping_) return;
    schedule_.setSpecs(specs);
    if (index)
      schedule_.observe(*index);
    else
      logger()->warn("IMAGE_INDEX_UNAVAILABLE code={} error={}", index.error().code,
                     index.error().message);
    auto tasks = schedule_.take(1);
    if (tasks.empty()) {
      const std::uint64_t seen = wakes_;
      const std::int64_t wait_ms =
          std::clamp<std::int64_t>(schedule_.nextDue() - schedule_.now(), 0, rescan_.count());
      cv_.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(wait_ms, 10)),
                   [&] { return stopping_ || wakes_ != seen; });
      continue;
    }
    lock.unlock();
    Task& task = tasks.front();
    task.cancel = &cancel_;
    std::int64_t checked_ms = 0;
    try {
      if (task.kind == Task::Kind::kCheck) {
        if (hooks_.check) checked_ms = hooks_.check(task).checked_ms;
      } else if (hooks_.collect) {
        if (auto st = hooks_.collect(specs); !st)
          logger()->warn("IMAGE_COLLECT_FAILED code={} error={}", st.error().code,
                         st.error().message);
      }
    } catch (const std::exception& e) {
      logger()->error("IMAGE_TASK_FAILED task={} error={}", task.key.empty() ? "collect" : task.key,
                      e.what());
    }
    lock.lock();
    schedule_.finished(task, checked_ms);
    lock.unlock();
    cv_.notify_all();
  }
}

}  // namespace drover::images::catalog
