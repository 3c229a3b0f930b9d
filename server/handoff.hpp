// Sending an installed node to the network for a pending reinstall, and noticing when it
// does not get there.
//
// Two methods: the BMC (a one-time network boot override, read back, then a power cycle:
// server/power_api.hpp) and the node's agent (its heartbeat answer asks it to set BootNext
// and reboot: agent/net_reboot.hpp). Once a method is under way the node must be heard
// from on the network path (a DHCP exchange of a network boot, or a boot script served for
// it) within server.boot.handoff_deadline. Otherwise `handoff_failed` goes on its timeline
// with the reason, drover_handoff_failures_total{method} counts it, and the other method
// is tried once when the node has it (a BMC declared; an agent heard from recently). A
// method that fails at once (the BMC ignores the override, the agent finds no network
// entry) fails the handoff at once. A node that gets there has `handoff` on its timeline.
//
// In memory, per replica: a restart forgets the handoffs in flight (the reinstall itself
// stays pending in the store). A replica that did not see the node arrive itself looks at
// the node's timeline in the shared store before it calls a handoff failed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/metrics.hpp"
#include "common/result.hpp"

namespace drover::server {

enum class HandoffMethod { kBmc, kAgent };
std::string_view toString(HandoffMethod m);  // "bmc", "agent"

// What a heartbeat answer carries to the agent.
struct AgentRequest {
  std::string id{};
  std::string mac{};
};

// "5m", "90s", "1.5s".
std::string formatDeadline(std::chrono::milliseconds d);

class HandoffWatch {
 public:
  struct Hooks {
    std::function<std::int64_t()> now_ms{};
    std::function<std::chrono::milliseconds()> deadline{};
    std::function<bool(const std::string& node)> has_bmc{};
    std::function<bool(const std::string& node)> has_agent{};
    // Override, read back, power cycle; records its own timeline entries.
    std::function<Status(const std::string& node)> bmc_send{};
    // The MAC the node installed through (the agent boots from it).
    std::function<std::string(const std::string& node)> mac_of{};
    std::function<void(const std::string& node, std::string phase, std::string message)> record{};
    // The node's network boot as the shared timeline shows it since `since_ms` (a phase;
    // empty: none). With replicas another one may have answered the machine; checked when
    // a deadline passes. Null: not checked.
    std::function<std::string(const std::string& node, std::int64_t since_ms)> seen_since{};
    metrics::Registry* registry = nullptr;
  };

  explicit HandoffWatch(Hooks hooks);
  ~HandoffWatch();
  HandoffWatch(const HandoffWatch&) = delete;
  HandoffWatch& operator=(const HandoffWatch&) = delete;

  // The BMC sent the node (override read back, power on or cycle): the deadline runs.
  void sentByBmc(const std::string& node);
  // The BMC could not send it: the handoff fails now. True when the agent is asked instead.
  bool bmcFailed(const std::string& node, const std::string& reason);
  // Asks the node's agent at its next heartbeat; returns the request's id.
  std::string askAgent(const std::string& node);
  // The request waiting for this node's agent, if any (for its heartbeat answer).
  std::optional<AgentRequest> pendingFor(const std::string& node) const;
  // The agent's report on request `id`: `reboot_network` (the deadline runs again from
  // now) or `reboot_failed` (the handoff fails). Other phases and stale ids are ignored.
  void agentReport(const std::string& node, const std::string& id, std::string_view phase,
                   const std::string& message);
  // The node was heard from on the network path: its handoff (if any) worked.
  void heard(const std::string& node, const std::string& how);
  // Fails the handoffs past their deadline and starts the retries.
  void tick();
  bool watching(const std::string& node) const;

  // A thread that calls tick() every `period` until stop().
  void start(std::chrono::milliseconds period);
  void stop();

 private:
  struct Handoff {
    HandoffMethod method = HandoffMethod::kBmc;
    std::int64_t started_ms = 0;
    std::int64_t deadline_ms = 0;
    bool bmc_tried = false;
    bool agent_tried = false;
    std::string id{};
    std::string mac{};
    bool agent_rebooting = false;  // the agent said it reboots now
  };

  // Records the failure and starts the other method when there is one (true).
  bool fail(const std::string& node, const Handoff& h, const std::string& reason);
  void arrived(const std::string& node, const Handoff& h, const std::string& how);
  std::string nextId();

  Hooks hooks_;
  mutable std::mutex mu_;
  std::map<std::string, Handoff> active_;
  std::uint64_t counter_ = 0;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace drover::server
