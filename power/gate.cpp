#include "power/gate.hpp"

#include <fmt/format.h>

namespace drover::power {

PowerGate::Pass::~Pass() {
  if (!gate_) return;
  std::lock_guard lock(gate_->mu_);
  gate_->busy_.erase(node_);
}

Result<PowerGate::Pass> PowerGate::enter(const std::string& node, const std::string& address,
                                         Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (busy_.contains(node))
    return makeError("bmc_busy", fmt::format("a power operation on {} is still running", node));
  if (static_cast<int>(busy_.size()) >= max_running_)
    return makeError("bmc_busy",
                     fmt::format("{} power operation(s) on other nodes are running; try again when "
                                 "they are done",
                                 busy_.size()));
  auto& times = recent_[address];
  while (!times.empty() && now - times.front() >= period_) times.pop_front();
  if (static_cast<int>(times.size()) >= burst_)
    return makeError(
        "bmc_rate_limited",
        fmt::format("the BMC {} had {} operations in the last {}s; try again later", address,
                    burst_, std::chrono::duration_cast<std::chrono::seconds>(period_).count()));
  times.push_back(now);
  busy_.insert(node);
  return Pass(this, node);
}

void CountedBmc::count(const Error* e) {
  const auto labels = fmt::format("driver=\"{}\",result=\"{}\"", toString(inner_->driver()),
                                  e ? e->code : std::string("ok"));
  registry_.counter("bmc_requests_total", "Calls to BMCs by driver and outcome", labels)
      .fetch_add(1, std::memory_order_relaxed);
}

Result<PowerState> CountedBmc::status() {
  auto r = inner_->status();
  count(r ? nullptr : &r.error());
  return r;
}

Status CountedBmc::set(PowerAction action) {
  auto r = inner_->set(action);
  count(r ? nullptr : &r.error());
  return r;
}

Status CountedBmc::setNextBoot(BootDevice device, bool once) {
  auto r = inner_->setNextBoot(device, once);
  count(r ? nullptr : &r.error());
  return r;
}

Result<BootOverride> CountedBmc::nextBoot() {
  auto r = inner_->nextBoot();
  count(r ? nullptr : &r.error());
  return r;
}

}  // namespace drover::power
