#include "server/handoff.hpp"

#include <random>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/log.hpp"

namespace drover::server {
namespace {

using Maybe = std::optional<state::HandoffRecord>;

std::string_view otherName(HandoffMethod m) {
  return m == HandoffMethod::kBmc ? "the BMC's boot override" : "the agent's BootNext";
}

HandoffMethod methodOf(const state::HandoffRecord& h) {
  return h.method == "agent" ? HandoffMethod::kAgent : HandoffMethod::kBmc;
}

// An agent's request that a heartbeat answer may carry now.
bool deliverable(const state::HandoffRecord& h) {
  return h.method == "agent" && !h.delivered && !h.rebooting && h.deadline_ms != 0;
}

// The code of an update that found the handoff not as expected: nothing was written.
constexpr std::string_view kMoved = "handoff_moved";

Error moved() {
  return makeError(std::string(kMoved), "the handoff changed meanwhile");
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

bool HandoffWatch::known(const std::string& node) const {
  std::lock_guard lock(mu_);
  return known_.contains(node);
}

void HandoffWatch::remember(const std::string& node, bool has) {
  std::lock_guard lock(mu_);
  if (has) {
    known_.insert(node);
    added_.insert(node);
  } else {
    known_.erase(node);
    added_.erase(node);
  }
}

void HandoffWatch::storeFailed(std::string_view what, const Error& e, bool log_it) {
  static const auto logger = log::get("handoff");
  hooks_.registry
      ->counter("handoff_store_errors_total",
                "Reads and writes of handoffs that the state store failed")
      .fetch_add(1, std::memory_order_relaxed);
  if (!log_it) return;
  logger->warn("HANDOFF_STORE_FAILED op={} code={} error=\"{}\"", what, e.code,
               log::sanitize(e.message, 300));
}

std::optional<state::HandoffRecord> HandoffWatch::read(const std::string& node) {
  auto h = hooks_.store->getHandoff(node);
  if (!h) {
    storeFailed("read", h.error());
    return std::nullopt;
  }
  return *h;
}

bool HandoffWatch::replace(const std::string& node, const Handoff* expected,
                           std::optional<Handoff> h) {
  if (h) h->node = node;
  auto r = hooks_.store->updateHandoff(node, [&](const Maybe& cur) -> Result<Maybe> {
    if (expected != nullptr && (!cur || *cur != *expected)) return moved();
    return h;
  });
  if (!r) {
    if (r.error().code != kMoved) storeFailed("write", r.error());
    return false;
  }
  remember(node, h.has_value());
  return true;
}

state::HandoffRecord HandoffWatch::agentRequest(const std::string& node, int attempt) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  const auto now = hooks_.now_ms();
  Handoff h;
  h.node = node;
  h.method = "agent";
  h.attempt = attempt;
  {
    std::lock_guard lock(mu_);
    // Unique across replicas too: the time, this watch's count and a random part.
    h.id = fmt::format("{:x}-{}-{:04x}", now, ++counter_, rng() & 0xffff);
  }
  h.mac = hooks_.mac_of(node);
  h.requested_ms = now;
  h.deadline_ms = now + hooks_.deadline().count();
  return h;
}

void HandoffWatch::sentByBmc(const std::string& node) {
  const auto now = hooks_.now_ms();
  Handoff h;
  h.method = "bmc";
  h.attempt = 1;
  h.requested_ms = now;
  h.deadline_ms = now + hooks_.deadline().count();
  replace(node, nullptr, h);
}

bool HandoffWatch::bmcFailed(const std::string& node, const std::string& reason) {
  Handoff h;
  h.node = node;
  h.method = "bmc";
  h.attempt = 1;
  h.requested_ms = hooks_.now_ms();
  return fail(node, h, reason, /*stored=*/false);
}

Result<std::string> HandoffWatch::askAgent(const std::string& node) {
  const auto h = agentRequest(node, 1);
  auto r =
      hooks_.store->updateHandoff(node, [&](const Maybe&) -> Result<Maybe> { return Maybe(h); });
  if (!r) {
    storeFailed("write", r.error());
    return r.error();
  }
  remember(node, true);
  return h.id;
}

std::optional<AgentRequest> HandoffWatch::pendingFor(const std::string& node) {
  if (!known(node)) return std::nullopt;
  auto h = read(node);
  if (!h || !deliverable(*h)) return std::nullopt;
  return AgentRequest{h->id, h->mac};
}

std::optional<AgentRequest> HandoffWatch::deliver(const std::string& node) {
  if (!known(node)) return std::nullopt;
  auto r = hooks_.store->updateHandoff(node, [](const Maybe& cur) -> Result<Maybe> {
    if (!cur || !deliverable(*cur)) return moved();
    auto next = *cur;
    next.delivered = true;
    return Maybe(next);
  });
  if (!r) {
    if (r.error().code != kMoved) storeFailed("deliver", r.error());
    return std::nullopt;
  }
  static const auto logger = log::get("handoff");
  logger->info("HANDOFF_DELIVERED node={} id={}", node, (*r)->id);
  return AgentRequest{(*r)->id, (*r)->mac};
}

void HandoffWatch::agentReport(const std::string& node, const std::string& id,
                               std::string_view phase, const std::string& message) {
  if (phase != "reboot_network" && phase != "reboot_failed") return;
  auto h = read(node);
  if (!h || h->method != "agent" || h->id != id || h->deadline_ms == 0) return;
  if (phase == "reboot_failed") {
    fail(node, *h, "the agent could not reboot into the network: " + message);
    return;
  }
  auto next = *h;
  next.delivered = true;
  next.rebooting = true;
  next.requested_ms = hooks_.now_ms();  // the machine is on its way from now
  next.deadline_ms = next.requested_ms + hooks_.deadline().count();
  replace(node, &*h, next);
}

void HandoffWatch::heard(const std::string& node, const std::string& how) {
  if (!known(node)) return;
  Maybe ended;
  auto r = hooks_.store->updateHandoff(node, [&](const Maybe& cur) -> Result<Maybe> {
    if (!cur) return moved();
    ended = cur;
    return Maybe();
  });
  if (!r) {
    if (r.error().code != kMoved) storeFailed("write", r.error());
    return;
  }
  remember(node, false);
  arrived(node, *ended, how);
}

void HandoffWatch::arrived(const std::string& node, const Handoff& h, const std::string& how) {
  const double secs = static_cast<double>(hooks_.now_ms() - h.requested_ms) / 1000.0;
  const auto method = methodOf(h);
  hooks_.registry
      ->counter("handoffs_total", "Nodes sent to the network that reached it, by method",
                fmt::format("method=\"{}\"", toString(method)))
      .fetch_add(1, std::memory_order_relaxed);
  hooks_.record(node, "handoff",
                fmt::format("reached the network ({}) {:.1f} s after {}", how, secs,
                            method == HandoffMethod::kBmc ? "the BMC's power cycle"
                            : h.rebooting                 ? "the agent rebooted"
                                                          : "the request to its agent"));
}

void HandoffWatch::tick() {
  {
    std::lock_guard lock(mu_);
    added_.clear();
  }
  auto all = hooks_.store->listHandoffs();
  bool was_failing = false;
  {
    std::lock_guard lock(mu_);
    was_failing = list_failing_;
    list_failing_ = !all;
  }
  if (!all) {
    storeFailed("list", all.error(), /*log_it=*/!was_failing);  // logged once per outage
    return;
  }
  {
    std::lock_guard lock(mu_);
    known_ = added_;
    for (const auto& h : *all) known_.insert(h.node);
  }
  const auto now = hooks_.now_ms();
  const auto limit = formatDeadline(hooks_.deadline());
  for (const auto& h : *all) {
    if (h.deadline_ms == 0 || now < h.deadline_ms) continue;
    if (auto seen = hooks_.seen_since ? hooks_.seen_since(h.node, h.requested_ms) : std::string();
        !seen.empty()) {
      if (replace(h.node, &h, std::nullopt)) arrived(h.node, h, seen + ", in the timeline");
      continue;
    }
    std::string reason;
    if (methodOf(h) == HandoffMethod::kBmc)
      reason = fmt::format(
          "not heard from on the network within {} of the boot override and power cycle (the "
          "firmware booted something else, or the machine did not start)",
          limit);
    else if (h.rebooting)
      reason = fmt::format(
          "not heard from on the network within {} of the agent setting BootNext and rebooting "
          "(the firmware ignored BootNext, or the network boot did not reach this server)",
          limit);
    else if (h.delivered)
      reason = fmt::format(
          "its agent was handed the request at a heartbeat but did not report rebooting within "
          "{} (the answer was lost on the way, or the agent stopped)",
          limit);
    else
      reason = fmt::format(
          "its agent did not take the request within {} (no heartbeat: the agent is not running "
          "or cannot reach any replica)",
          limit);
    fail(h.node, h, reason);
  }
}

bool HandoffWatch::fail(const std::string& node, const Handoff& h, const std::string& reason,
                        bool stored) {
  static const auto logger = log::get("handoff");
  const auto method = methodOf(h);
  const auto other = method == HandoffMethod::kBmc ? HandoffMethod::kAgent : HandoffMethod::kBmc;
  const bool retry = h.attempt < 2 &&
                     (other == HandoffMethod::kBmc ? hooks_.has_bmc(node) : hooks_.has_agent(node));
  // The next state, written only while the handoff is still `h`: of replicas failing it at
  // once, one does.
  Maybe next;
  if (retry && other == HandoffMethod::kAgent) {
    next = agentRequest(node, 2);
  } else if (retry) {
    Handoff bmc;
    bmc.node = node;
    bmc.method = "bmc";
    bmc.attempt = 2;
    bmc.requested_ms = hooks_.now_ms();  // a node heard from during the power cycle counts
    bmc.deadline_ms = bmc.requested_ms + hooks_.deadline().count();
    next = bmc;
  }
  if (!replace(node, stored ? &h : nullptr, next)) return false;
  hooks_.registry
      ->counter("handoff_failures_total",
                "Nodes sent to the network for a reinstall that did not get there, by method",
                fmt::format("method=\"{}\"", toString(method)))
      .fetch_add(1, std::memory_order_relaxed);
  logger->warn("HANDOFF_FAILED node={} method={} retry={} reason=\"{}\"", node, toString(method),
               retry ? toString(other) : "none", log::sanitize(reason, 300));
  // The agent's request is in the store before the timeline says so: a heartbeat that
  // follows the entry finds it.
  hooks_.record(node, "handoff_failed",
                fmt::format("{}: {}; {}", toString(method), reason,
                            retry ? fmt::format("trying {} instead", otherName(other))
                                  : std::string("no other way to send it: the reinstall stays "
                                                "pending for its next network boot")));
  if (!retry) return false;
  if (other == HandoffMethod::kAgent) {
    hooks_.record(node, "handoff",
                  fmt::format("asked the agent to set BootNext and reboot at its next heartbeat "
                              "(request {})",
                              next->id));
    return true;
  }
  auto st = hooks_.bmc_send(node);
  auto now_h = read(node);
  // Heard meanwhile (ended), or changed by another replica: nothing more to do here.
  if (!now_h || *now_h != *next) return true;
  if (st) {
    auto sent = *now_h;
    sent.deadline_ms = hooks_.now_ms() + hooks_.deadline().count();
    replace(node, &*now_h, sent);
    return true;
  }
  fail(node, *now_h, st.error().message);
  return true;
}

bool HandoffWatch::watching(const std::string& node) {
  return read(node).has_value();
}

void HandoffWatch::start(std::chrono::milliseconds period) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, period] {
    tick();  // handoffs left by a replica that stopped, or by this one before a restart
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
