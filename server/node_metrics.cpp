#include "server/node_metrics.hpp"

#include <array>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "http/metrics_routes.hpp"

namespace drover::server {

bool updateNodeGauges(Context& ctx) {
  constexpr std::array kStates = {state::NodeState::kDiscovered, state::NodeState::kInstalling,
                                  state::NodeState::kInstalled, state::NodeState::kJoined,
                                  state::NodeState::kFailed};
  auto records = ctx.store.listNodes();
  if (!records) {
    ctx.log->warn("METRICS_STATE_READ_FAILED error={}", records.error().message);
    return false;
  }
  std::array<std::int64_t, kStates.size()> counts{};
  std::int64_t reinstall = 0;
  for (const auto& r : *records) {
    for (std::size_t i = 0; i < kStates.size(); ++i) counts[i] += r.status.state == kStates[i];
    reinstall += r.status.reinstall_requested;
  }
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    ctx.registry.gauge("nodes", "Nodes with a record in the state store, by state",
                       fmt::format("state=\"{}\"", state::toString(kStates[i]))) = counts[i];
  }
  ctx.registry.gauge("nodes_reinstall_pending",
                     "Nodes the operator asked to reinstall, not yet reinstalling") = reinstall;
  if (auto snapshot = ctx.source.current()) {
    ctx.registry.gauge("nodes_declared", "Nodes in the current declaration") =
        static_cast<std::int64_t>(snapshot->inventory.config().nodes.size());
  }
  ctx.registry.gauge("nodes_refreshed_timestamp_seconds",
                     "When the node gauges were last read from the store") =
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  return true;
}

namespace {

// Runs the store pass on its own thread, one at a time; a scrape asks for one that starts
// after it arrived and waits for it within kScrapeWait.
class GaugeRefresher {
 public:
  explicit GaugeRefresher(Context& ctx) : ctx_(ctx), thread_([this] { run(); }) {}
  ~GaugeRefresher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  GaugeRefresher(const GaugeRefresher&) = delete;
  GaugeRefresher& operator=(const GaugeRefresher&) = delete;

  void refresh() {
    std::unique_lock lock(mu_);
    const std::uint64_t want = ++requested_;
    wake_.notify_one();
    if (!done_.wait_for(lock, kScrapeWait, [&] { return finished_ >= want; })) {
      ctx_.registry
          .counter("metrics_stale_scrapes_total",
                   "Scrapes answered with node gauges the store could not refresh in time")
          .fetch_add(1, std::memory_order_relaxed);
    }
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || requested_ > finished_; });
      if (stop_) return;
      const std::uint64_t serving = requested_;
      lock.unlock();
      updateNodeGauges(ctx_);
      lock.lock();
      finished_ = serving;
      done_.notify_all();
    }
  }

  Context& ctx_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::uint64_t requested_ = 0, finished_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

void addMetricsRoutes(http::Router& router, Context& ctx) {
  auto inner = std::make_shared<http::Router>();
  http::addMetricsRoutes(*inner, ctx.registry);
  auto refresher = std::make_shared<GaugeRefresher>(ctx);
  router.add(http::Verb::get, "/metrics", [inner, refresher](const http::Request& req) {
    refresher->refresh();
    http::Request copy = req;
    return inner->dispatch(copy);
  });
  router.add(http::Verb::get, "/healthz", [inner](const http::Request& req) {
    http::Request copy = req;
    return inner->dispatch(copy);
  });
}

}  // namespace drover::server
