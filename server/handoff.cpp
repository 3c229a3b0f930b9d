#include "server/handoff.hpp"

#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/log.hpp"

namespace drover::server {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

std::string_view otherName(HandoffMethod m) {
  return m == HandoffMethod::kBmc ? "the BMC's boot override" : "the agent's BootNext";
}

}  // namespace

std::string_view toString(HandoffMethod m) {
  return m == HandoffMethod::kBmc ? "bmc" : "agent";
}

std::string formatDeadline(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms >= 60000 && ms % 60000 == 0) return fmt::format("{}m", ms / 60000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
}

HandoffWatch::HandoffWatch(Hooks hooks) : hooks_(std::move(hooks)) {
  if (hooks_.registry == nullptr) hooks_.registry = &metrics::Registry::global();
}

HandoffWatch::~HandoffWatch() {
  stop();
}

std::string HandoffWatch::nextId() {
  std::lock_guard lock(mu_);
  return fmt::format("{:x}-{}", hooks_.now_ms(), ++counter_);
}

void HandoffWatch::sentByBmc(const std::string& node) {
  const auto now = hooks_.now_ms();
  Handoff h;
  h.method = HandoffMethod::kBmc;
  h.started_ms = now;
  h.deadline_ms = now + hooks_.deadline().count();
  h.bmc_tried = true;
  std::lock_guard lock(mu_);
  active_[node] = h;
}

bool HandoffWatch::bmcFailed(const std::string& node, const std::string& reason) {
  Handoff h;
  h.method = HandoffMethod::kBmc;
  h.started_ms = hooks_.now_ms();
  h.bmc_tried = true;
  return fail(node, h, reason);
}

std::string HandoffWatch::askAgent(const std::string& node) {
  const auto id = nextId();
  const auto mac = hooks_.mac_of(node);
  const auto now = hooks_.now_ms();
  Handoff h;
  h.method = HandoffMethod::kAgent;
  h.started_ms = now;
  h.deadline_ms = now + hooks_.deadline().count();
  h.agent_tried = true;
  h.id = id;
  h.mac = mac;
  std::lock_guard lock(mu_);
  active_[node] = h;
  return id;
}

std::optional<AgentRequest> HandoffWatch::pendingFor(const std::string& node) const {
  std::lock_guard lock(mu_);
  auto it = active_.find(node);
  if (it == active_.end() || it->second.method != HandoffMethod::kAgent ||
      it->second.agent_rebooting || it->second.deadline_ms == kNever)
    return std::nullopt;
  return AgentRequest{it->second.id, it->second.mac};
}

void HandoffWatch::agentReport(const std::string& node, const std::string& id,
                               std::string_view phase, const std::string& message) {
  Handoff failed;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(node);
    if (it == active_.end() || it->second.method != HandoffMethod::kAgent || it->second.id != id ||
        it->second.deadline_ms == kNever)
      return;
    if (phase == "reboot_network") {
      it->second.agent_rebooting = true;
      it->second.started_ms = hooks_.now_ms();  // the machine is on its way from now
      it->second.deadline_ms = it->second.started_ms + hooks_.deadline().count();
      return;
    }
    if (phase != "reboot_failed") return;
    failed = it->second;
    it->second.deadline_ms = kNever;  // being failed here, not by tick()
  }
  fail(node, failed, "the agent could not reboot into the network: " + message);
}

void HandoffWatch::heard(const std::string& node, const std::string& how) {
  Handoff h;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(node);
    if (it == active_.end() || it->second.deadline_ms == kNever) return;
    h = it->second;
    active_.erase(it);
  }
  arrived(node, h, how);
}

void HandoffWatch::arrived(const std::string& node, const Handoff& h, const std::string& how) {
  const double secs = static_cast<double>(hooks_.now_ms() - h.started_ms) / 1000.0;
  hooks_.registry
      ->counter("handoffs_total", "Nodes sent to the network that reached it, by method",
                fmt::format("method=\"{}\"", toString(h.method)))
      .fetch_add(1, std::memory_order_relaxed);
  hooks_.record(node, "handoff",
                fmt::format("reached the network ({}) {:.1f} s after {}", how, secs,
                            h.method == HandoffMethod::kBmc ? "the BMC's power cycle"
                            : h.agent_rebooting             ? "the agent rebooted"
                                                            : "the request to its agent"));
}

void HandoffWatch::tick() {
  std::vector<std::pair<std::string, Handoff>> expired;
  const auto now = hooks_.now_ms();
  {
    std::lock_guard lock(mu_);
    for (auto& [node, h] : active_) {
      if (h.deadline_ms == kNever || now < h.deadline_ms) continue;
      expired.emplace_back(node, h);
      h.deadline_ms = kNever;
    }
  }
  const auto limit = formatDeadline(hooks_.deadline());
  for (const auto& [node, h] : expired) {
    if (auto seen = hooks_.seen_since ? hooks_.seen_since(node, h.started_ms) : std::string();
        !seen.empty()) {
      {
        std::lock_guard lock(mu_);
        auto it = active_.find(node);
        if (it != active_.end() && it->second.started_ms == h.started_ms) active_.erase(it);
      }
      arrived(node, h, seen + ", in the timeline");
      continue;
    }
    std::string reason;
    if (h.method == HandoffMethod::kBmc)
      reason = fmt::format(
          "not heard from on the network within {} of the boot override and power cycle (the "
          "firmware booted something else, or the machine did not start)",
          limit);
    else if (h.agent_rebooting)
      reason = fmt::format(
          "not heard from on the network within {} of the agent setting BootNext and rebooting "
          "(the firmware ignored BootNext, or the network boot did not reach this server)",
          limit);
    else
      reason = fmt::format(
          "its agent did not take the request within {} (no heartbeat: the agent is not running "
          "or reports to another replica)",
          limit);
    fail(node, h, reason);
  }
}

bool HandoffWatch::fail(const std::string& node, const Handoff& h, const std::string& reason) {
  static const auto logger = log::get("handoff");
  hooks_.registry
      ->counter("handoff_failures_total",
                "Nodes sent to the network for a reinstall that did not get there, by method",
                fmt::format("method=\"{}\"", toString(h.method)))
      .fetch_add(1, std::memory_order_relaxed);
  const auto other = h.method == HandoffMethod::kBmc ? HandoffMethod::kAgent : HandoffMethod::kBmc;
  const bool tried = other == HandoffMethod::kBmc ? h.bmc_tried : h.agent_tried;
  const bool retry =
      !tried && (other == HandoffMethod::kBmc ? hooks_.has_bmc(node) : hooks_.has_agent(node));
  logger->warn("HANDOFF_FAILED node={} method={} retry={} reason=\"{}\"", node, toString(h.method),
               retry ? toString(other) : "none", log::sanitize(reason, 300));
  // The agent's request exists before the timeline says so: a heartbeat that follows the
  // entry finds it.
  std::string id;
  if (retry && other == HandoffMethod::kAgent) {
    id = askAgent(node);
    std::lock_guard lock(mu_);
    active_[node].bmc_tried = true;
  }
  hooks_.record(node, "handoff_failed",
                fmt::format("{}: {}; {}", toString(h.method), reason,
                            retry ? fmt::format("trying {} instead", otherName(other))
                                  : std::string("no other way to send it: the reinstall stays "
                                                "pending for its next network boot")));
  if (!retry) {
    std::lock_guard lock(mu_);
    auto it = active_.find(node);
    if (it != active_.end() && it->second.started_ms == h.started_ms &&
        it->second.method == h.method)
      active_.erase(it);
    return false;
  }
  if (other == HandoffMethod::kAgent) {
    hooks_.record(node, "handoff",
                  fmt::format("asked the agent to set BootNext and reboot at its next heartbeat "
                              "(request {})",
                              id));
    return true;
  }
  sentByBmc(node);  // watched from now: a node heard from during the power cycle counts
  {
    std::lock_guard lock(mu_);
    active_[node].agent_tried = true;
    active_[node].deadline_ms = kNever - 1;  // not due while the BMC works
  }
  auto st = hooks_.bmc_send(node);
  Handoff now_h;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(node);
    if (it == active_.end() || it->second.method != HandoffMethod::kBmc) return true;  // heard
    if (st) {
      it->second.started_ms = hooks_.now_ms();
      it->second.deadline_ms = it->second.started_ms + hooks_.deadline().count();
      return true;
    }
    now_h = it->second;
    it->second.deadline_ms = kNever;
  }
  fail(node, now_h, st.error().message);
  return true;
}

bool HandoffWatch::watching(const std::string& node) const {
  std::lock_guard lock(mu_);
  auto it = active_.find(node);
  return it != active_.end() && it->second.deadline_ms != kNever;
}

void HandoffWatch::start(std::chrono::milliseconds period) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, period] {
    std::unique_lock lock(run_mu_);
    while (!stopping_) {
      run_cv_.wait_for(lock, period, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      tick();
      lock.lock();
    }
  });
}

void HandoffWatch::stop() {
  {
    std::lock_guard lock(run_mu_);
    stopping_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace drover::server
