// Group commit: many lease writes, one transaction. Callers submit the writes behind one
// reply with a completion; a dedicated thread takes everything queued, applies it to the
// store in one apply() (one fsync), then runs each completion with the result. Under load
// the batch grows by itself, so throughput stays far above the store's fsync rate.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/metrics.hpp"
#include "dhcp/server/lease_store.hpp"

namespace drover::dhcp {

class GroupCommitter {
 public:
  using Done = std::function<void(const Status&)>;

  GroupCommitter(LeaseStore& store, metrics::Registry& registry = metrics::Registry::global(),
                 std::size_t max_batch = 4096);
  ~GroupCommitter();  // drains the queue, then stops

  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // `done` runs on the committer thread once the writes are durable (or failed).
  void submit(std::vector<LeaseWrite> writes, Done done);

 private:
  struct Item {
    std::vector<LeaseWrite> writes;
    Done done;
  };
  void run();

  LeaseStore& store_;
  std::size_t max_batch_;
  metrics::Counter& commits_;
  metrics::Counter& writes_;
  metrics::Counter& failures_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Item> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace drover::dhcp
