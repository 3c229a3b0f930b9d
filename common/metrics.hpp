// Counters and gauges for the Prometheus endpoint. Components register their series once
// (at start-up) and keep the returned reference; bumping is a relaxed atomic add, so the
// data path never locks. Every drop reason is a counter.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace drover::metrics {

using Counter = std::atomic<std::uint64_t>;
using Gauge = std::atomic<std::int64_t>;

class Registry {
 public:
  // `name` without the drover_ prefix, labels in Prometheus form: `reason="bad_cookie"`.
  // Asking twice for the same series returns the same counter.
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = "");

  // Prometheus text exposition format 0.0.4, every series prefixed drover_.
  std::string render() const;

  // Value of a series, for tests and `drover explain`-style summaries; 0 if absent.
  std::int64_t valueForTest(const std::string& name, const std::string& labels = "") const;

  // The process-wide registry.
  static Registry& global();

 private:
  struct Family {
    std::string help;
    bool is_counter = true;
    std::map<std::string, Counter*> counters;
    std::map<std::string, Gauge*> gauges;
  };

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::deque<Counter> counter_storage_;  // deque: stable addresses
  std::deque<Gauge> gauge_storage_;
};

}  // namespace drover::metrics
