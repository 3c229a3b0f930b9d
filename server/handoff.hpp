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
// Kept in the state store (state::HandoffRecord), so that with `state.backend: etcd` any
// replica answers the node's agent, takes its reports and fails a handoff past its
// deadline, and a replica's restart loses nothing. Every change is a read-modify-write of
// the store (a compare-and-swap on etcd): of replicas acting on one handoff at once, one
// does, the others see its change. The agent's request goes out in one heartbeat answer
// only (delivered is set before the answer is sent); an answer lost on the way is not sent
// again: the deadline fails the handoff ("handed to its agent, which did not report
// rebooting") and the other method is tried. A replica that did not see the node arrive
// itself looks at the node's timeline in the shared store before it calls a handoff failed.
//
// Each replica lists the handoffs every tick and keeps the names: a heartbeat or a network
// boot of a node without one costs no store read. A request taken by another replica is
// seen by this one's next tick.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "state/store.hpp"

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
    state::StateStore* store = nullptr;  // where the handoffs are kept (required)
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
  Result<std::string> askAgent(const std::string& node);
  // The request waiting for this node's agent, if any; nothing changes.
  std::optional<AgentRequest> pendingFor(const std::string& node);
  // The same, handed out: a heartbeat answer carries it. Once per request, whichever
  // replica answers.
  std::optional<AgentRequest> deliver(const std::string& node);
  // The agent's report on request `id`: `reboot_network` (the deadline runs again from
  // now) or `reboot_failed` (the handoff fails). Other phases and stale ids are ignored.
  void agentReport(const std::string& node, const std::string& id, std::string_view phase,
                   const std::string& message);
  // The node was heard from on the network path: its handoff (if any) worked.
  void heard(const std::string& node, const std::string& how);
  // Reads the handoffs, fails those past their deadline and starts the retries.
  void tick();
  bool watching(const std::string& node);

  // A thread that calls tick() every `period` until stop().
  void start(std::chrono::milliseconds period);
  void stop();

 private:
  using Handoff = state::HandoffRecord;

  // Ends `h` (still what the store holds, unless `stored` is false: then it replaces
  // whatever is there) as failed and starts the other method when there is one (true).
  // False, doing nothing, when another caller changed the handoff first.
  bool fail(const std::string& node, const Handoff& h, const std::string& reason,
            bool stored = true);
  void arrived(const std::string& node, const Handoff& h, const std::string& how);
  // Writes `h` in place of `expected` (any, when null); false when it changed meanwhile
  // or the store failed (logged and counted).
  bool replace(const std::string& node, const Handoff* expected, std::optional<Handoff> h);
  // Reads the node's handoff; nullopt when none or the store failed.
  std::optional<Handoff> read(const std::string& node);
  Handoff agentRequest(const std::string& node, int attempt);
  void storeFailed(std::string_view what, const Error& e, bool log_it = true);
  // A node may have a handoff (it had one at the last listing, or this watch wrote one).
  bool known(const std::string& node) const;
  void remember(const std::string& node, bool has);

  Hooks hooks_;
  mutable std::mutex mu_;
  std::set<std::string> known_;
  std::set<std::string> added_;  // remembered since the last listing started
  bool list_failing_ = false;    // the last listing failed (logged once)
  std::uint64_t counter_ = 0;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace drover::server
