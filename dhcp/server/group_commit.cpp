#include "dhcp/server/group_commit.hpp"

namespace drover::dhcp {

GroupCommitter::GroupCommitter(LeaseStore& store, metrics::Registry& registry,
                               std::size_t max_batch)
    : store_(store),
      max_batch_(max_batch),
      commits_(
          registry.counter("dhcp_store_commits_total", "Lease store transactions (group commits)")),
      writes_(registry.counter("dhcp_store_writes_total", "Lease writes made durable")),
      failures_(
          registry.counter("dhcp_store_failures_total", "Lease store transactions that failed")),
      thread_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void GroupCommitter::submit(std::vector<LeaseWrite> writes, Done done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Item{std::move(writes), std::move(done)});
  }
  cv_.notify_one();
}

void GroupCommitter::run() {
  std::vector<Item> batch;
  std::vector<std::vector<LeaseWrite>> groups;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      if (queue_.size() <= max_batch_) {
        batch.swap(queue_);
      } else {
        auto cut = queue_.begin() + static_cast<std::ptrdiff_t>(max_batch_);
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(cut));
        queue_.erase(queue_.begin(), cut);
      }
    }
    groups.clear();
    for (auto& item : batch) groups.push_back(std::move(item.writes));
    const std::vector<Status> results = store_.applyGroups(groups);
    commits_.fetch_add(1, std::memory_order_relaxed);
    bool failed = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Status st =
          i < results.size() ? results[i] : Status(makeError("store", "no result for a write"));
      if (st.ok()) {
        writes_.fetch_add(groups[i].size(), std::memory_order_relaxed);
      } else {
        failed = true;
      }
      batch[i].done(st);
    }
    if (failed) failures_.fetch_add(1, std::memory_order_relaxed);
    batch.clear();
  }
}

}  // namespace drover::dhcp
