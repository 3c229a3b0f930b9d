// Durable node state: records, the per-node boot timeline, hashed tokens, and the handoffs
// of nodes sent to the network for a reinstall.
// Implementations: SqliteStore (the default, WAL, durable before a call returns),
// EtcdStore (state/etcd/store.hpp: shared by several replicas) and MemoryStore (tests). All
// pass the suite in tests/state/store_conformance.hpp.
// Every method is safe to call from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "state/node_state.hpp"

namespace drover::state {

struct NodeRecord {
  std::string name;
  std::string mac;   // "52:54:00:12:34:56", lower case
  std::string uuid;  // SMBIOS UUID, lower case, may be empty
  NodeStatus status;
  std::int64_t state_since_ms = 0;  // Unix ms of the last state change
  std::string facts_json = "{}";    // hardware facts from register
  std::string install_version;      // "image@<sha256>" of the last install plan (catalog images)
  std::string credential_hash;      // sha256 hex of the node credential, empty if none
  std::string capture_image;  // image a requested capture publishes to (status.capture_requested)
  std::string capture_token_hash;  // sha256 hex of the capture upload token, empty if none

  friend bool operator==(const NodeRecord&, const NodeRecord&) = default;
};

struct TimelineEntry {
  std::int64_t ts_ms = 0;
  std::string phase;
  std::string message;

  friend bool operator==(const TimelineEntry&, const TimelineEntry&) = default;
};

struct TokenRecord {
  std::string hash;  // sha256 hex of the token
  std::string kind;  // "boot" (issued), "boot_spent" (a derived boot token, used)
  std::string node;
  std::int64_t expires_ms = 0;
};

// A node sent to the network for a pending reinstall (server/handoff.hpp): at most one per
// node, shared by the replicas so that any of them answers the node's agent and watches the
// deadline.
struct HandoffRecord {
  std::string node{};
  std::string method{};           // "bmc" or "agent": the method under way
  int attempt = 0;                // 1: the first method, 2: the other one after it failed
  std::string id{};               // the agent's request (method agent), named in its reports
  std::string mac{};              // the NIC the agent boots from
  std::int64_t requested_ms = 0;  // Unix ms the method was asked (or the agent rebooted)
  std::int64_t deadline_ms = 0;   // heard from on the network by then; 0: not due yet
  bool delivered = false;         // a heartbeat answer carried the agent's request
  bool rebooting = false;         // the agent reported that it reboots into the network

  friend bool operator==(const HandoffRecord&, const HandoffRecord&) = default;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  virtual Result<std::optional<NodeRecord>> getNode(const std::string& name) = 0;
  virtual Result<std::optional<NodeRecord>> findByMac(const std::string& mac) = 0;
  virtual Result<std::optional<NodeRecord>> findByUuid(const std::string& uuid) = 0;
  virtual Result<std::vector<NodeRecord>> listNodes() = 0;  // by name

  // Atomic read-modify-write of one node plus timeline entries, in one transaction:
  // `fn` gets the current record (nullopt if none) and returns the new one or an error
  // (then nothing is written and the error is returned). Durable when it returns.
  using UpdateFn = std::function<Result<NodeRecord>(const std::optional<NodeRecord>&)>;
  virtual Result<NodeRecord> updateNode(const std::string& name, const UpdateFn& fn,
                                        const std::vector<TimelineEntry>& entries = {}) = 0;

  // Appends timeline entries for a node in one transaction (batch progress reports).
  virtual drover::Status appendTimeline(const std::string& name,
                                        const std::vector<TimelineEntry>& entries) = 0;
  // Oldest first; at most `limit` most recent entries.
  virtual Result<std::vector<TimelineEntry>> timeline(const std::string& name,
                                                      std::size_t limit = 1000) = 0;
  // The most recent timeline entry of every node that has one, by node name, in one query
  // (the node table and the dashboard's overview).
  virtual Result<std::map<std::string, TimelineEntry>> lastEvents() = 0;

  // Record, timeline and handoff.
  virtual drover::Status removeNode(const std::string& name) = 0;

  virtual drover::Status putToken(const TokenRecord& token) = 0;
  // Single use: returns the record and deletes it in one transaction; nullopt when absent.
  // Expiry is the caller's check (the record carries it), so an expired token is spent too.
  virtual Result<std::optional<TokenRecord>> takeToken(const std::string& hash) = 0;
  // Records `token` unless a record of its hash exists, in one transaction: true when this
  // call recorded it, false when it was there already (the single use of boot tokens).
  virtual Result<bool> claimToken(const TokenRecord& token) = 0;
  // Drops tokens that expired before `now_ms`; returns how many.
  virtual Result<std::size_t> purgeExpiredTokens(std::int64_t now_ms) = 0;

  // Atomic read-modify-write of a node's handoff: `fn` gets the current one (nullopt if
  // none) and returns the new one, nullopt to remove it, or an error (then nothing is
  // written and the error is returned). Of callers racing on one handoff, in this process
  // or in other replicas, each sees the others' writes: `fn` may run again. Returns what
  // was written.
  using HandoffFn =
      std::function<Result<std::optional<HandoffRecord>>(const std::optional<HandoffRecord>&)>;
  virtual Result<std::optional<HandoffRecord>> updateHandoff(const std::string& node,
                                                             const HandoffFn& fn) = 0;
  virtual Result<std::optional<HandoffRecord>> getHandoff(const std::string& node) = 0;
  virtual Result<std::vector<HandoffRecord>> listHandoffs() = 0;  // by node
};

// Unix time in milliseconds (the default clock for records).
std::int64_t nowMs();

// Applies a state-machine event to a node (creating the record for kDiscovered /
// kRegistered when absent), stamps state_since when the state changes, and appends
// `entry` to the timeline in the same transaction. `init` fills a new record
// (mac, uuid, facts).
Result<NodeRecord> applyEvent(StateStore& store, const std::string& name, NodeEvent event,
                              TimelineEntry entry,
                              const std::function<void(NodeRecord&)>& init = {});

}  // namespace drover::state
