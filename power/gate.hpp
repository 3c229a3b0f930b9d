// Who may talk to a BMC now. One operation per node at a time: a second request for a node
// whose operation is still running is refused at once ("bmc_busy", HTTP 409), never queued,
// so an operator's retry cannot pile power cycles up behind a slow BMC. And at most
// `burst` operations per BMC address in `period` ("bmc_rate_limited", HTTP 429): a BMC
// that is asked too often locks up or locks the account. And at most `max_running`
// operations at once over all nodes ("bmc_busy"): they wait on BMCs on the API's threads,
// which must stay free for boots.
//
// CountedBmc counts every call to a BMC as bmc_requests_total{driver,result}, result "ok"
// or the error code.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/metrics.hpp"
#include "power/bmc.hpp"

namespace drover::power {

class PowerGate {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PowerGate(int burst = 6, std::chrono::seconds period = std::chrono::seconds(60),
                     int max_running = 1)
      : burst_(burst), period_(period), max_running_(max_running) {}

  // Held while one node's operation runs; releases the node when destroyed.
  class Pass {
   public:
    Pass(PowerGate* gate, std::string node) : gate_(gate), node_(std::move(node)) {}
    Pass(Pass&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)), node_(std::move(o.node_)) {}
    Pass& operator=(Pass&&) = delete;
    ~Pass();

   private:
    PowerGate* gate_;
    std::string node_;
  };

  // A pass for `node` on the BMC at `address`, or "bmc_busy" / "bmc_rate_limited".
  Result<Pass> enter(const std::string& node, const std::string& address,
                     Clock::time_point now = Clock::now());

 private:
  int burst_;
  Clock::duration period_;
  int max_running_;
  std::mutex mu_;
  std::set<std::string> busy_;                                   // nodes
  std::map<std::string, std::deque<Clock::time_point>> recent_;  // by BMC address
};

class CountedBmc final : public Bmc {
 public:
  CountedBmc(std::unique_ptr<Bmc> inner, metrics::Registry& registry)
      : inner_(std::move(inner)), registry_(registry) {}

  Result<PowerState> status() override;
  Status set(PowerAction action) override;
  Status setNextBoot(BootDevice device, bool once) override;
  Result<BootOverride> nextBoot() override;
  Driver driver() const override { return inner_->driver(); }

 private:
  void count(const Error* e);

  std::unique_ptr<Bmc> inner_;
  metrics::Registry& registry_;
};

}  // namespace drover::power
