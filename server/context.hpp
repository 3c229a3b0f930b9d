// What the HTTP routes of `drover serve` share: the published declaration, the state store,
// the credentials and where boot files live. Owned by the App; routes keep a reference.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "boot/snapshot.hpp"
#include "common/metrics.hpp"
#include "dhcp/server/lease_view.hpp"
#include "power/gate.hpp"
#include "state/store.hpp"
#include "state/tokens.hpp"

namespace drover::server {

// When each node's agent was last heard from (heartbeats), in memory: a restart forgets
// it until the next heartbeat.
class Presence {
 public:
  // A heartbeat from `node` at `now_ms`; true when it is the first one after a gap (or
  // ever), which is worth a timeline entry.
  bool touch(const std::string& node, std::int64_t now_ms);
  // Unix ms of the last heartbeat, 0 when none.
  std::int64_t lastSeen(const std::string& node) const;

  static constexpr std::int64_t kGapMs = 2 * 60 * 1000;  // four missed 30 s heartbeats

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::int64_t> last_;
};

class SessionStore;
class BootGuard;
class LiveEvents;
class HandoffWatch;

struct Context {
  const boot::InventorySource& source;
  state::StateStore& store;
  state::TokenService& tokens;
  std::string ca_fingerprint;  // "sha256:<hex>" of the API's CA certificate
  std::string operator_token;
  metrics::Registry& registry;
  std::shared_ptr<spdlog::logger> log;
  // The bound ports, used in URLs handed to machines where the declaration says port 0.
  std::uint16_t http_port = 0;
  std::uint16_t api_port = 0;
  std::shared_ptr<Presence> presence = std::make_shared<Presence>();
  // Where bmc-credentials.yaml is looked for (power/credentials.hpp).
  std::filesystem::path state_dir{};
  // One power operation per node, a bounded rate per BMC (power/gate.hpp).
  std::shared_ptr<power::PowerGate> power_gate = std::make_shared<power::PowerGate>();
  // Dashboard logins (server/sessions.hpp); null: none.
  std::shared_ptr<SessionStore> sessions = nullptr;
  // The DHCP server's bound leases (null: it does not run), and who may be handed and
  // spend boot tokens (server/boot_guard.hpp).
  std::shared_ptr<dhcp::LeaseView> leases = nullptr;
  std::shared_ptr<BootGuard> boot_guard = nullptr;
  // The dashboard's live updates (server/live_events.hpp); null: none.
  std::shared_ptr<LiveEvents> live = nullptr;
  // With replicas: the other live replicas' API URLs in a stable order (ha::otherApiUrls),
  // at most kMaxApiAlternates; null without replicas.
  std::function<std::vector<std::string>()> api_alternates{};
  // Nodes sent to the network for a reinstall, until they get there (server/handoff.hpp);
  // null: not watched.
  std::shared_ptr<HandoffWatch> handoff = nullptr;
  // The ports of the cluster's etcd members (boot/recipes.hpp), asked before an etcd-member
  // node is reinstalled (server/etcd_removal.hpp); tests move them.
  int etcd_client_port = 2379;
  int etcd_peer_port = 2380;
};

// How many other replicas' API URLs a boot environment's command line names.
inline constexpr std::size_t kMaxApiAlternates = 3;

// ctx.api_alternates(), or none.
std::vector<std::string> apiAlternates(const Context& ctx);

// https://<advertise>:<api port>
std::string apiUrl(const Context& ctx, const cluster::Config& config);
// http://<advertise>:<http port> (no trailing slash)
std::string httpBase(const Context& ctx, const cluster::Config& config);

// server.boot.handoff_deadline of the declaration served now.
std::chrono::milliseconds handoffDeadline(const Context& ctx);

// Whether the node's agent sent a heartbeat within Presence::kGapMs.
bool agentReachable(const Context& ctx, const std::string& node);

// The name a machine that matches no node is known by until the operator adopts it:
// "unknown-525400aabbcc".
std::string provisionalName(const MacAddress& mac);

// Appends one timeline entry, logging (not failing) when the store refuses.
void recordEvent(const Context& ctx, const std::string& node, std::string phase,
                 std::string message);

}  // namespace drover::server
