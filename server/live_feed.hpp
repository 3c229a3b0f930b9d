// Changes other replicas store, for this replica's dashboard pages (server/live_events.hpp).
//
// With the etcd backend each replica publishes what it stores itself (publishingStore); what
// the others store arrives here through two etcd watches, on P/nodes/ (records: state
// changes and removals) and P/timeline/ (entries), and goes to the same hub, so it is
// coalesced with the rest. A change this replica stored is not pushed twice: a timeline entry
// whose key names this replica's store (EtcdStore::instance) is skipped, so is a node record
// written at a revision this replica's store wrote (EtcdStore::ownRevisions), and a record
// that arrives before its writer noted that revision is recognised by the hub
// (LiveEvents::publish sends a node's state once).
//
// Nothing is read while no page is connected. A broken watch resumes after the last revision
// it saw; when etcd has compacted that history meanwhile, it starts again from the current
// revision and the gap is counted (the pages show it at their next reload).
//
// Metrics: ui_live_remote_changes_total,
// ui_live_remote_drops_total{reason="corrupt"|"history_compacted"}.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "server/live_events.hpp"
#include "state/etcd/client.hpp"
#include "state/etcd/store.hpp"
#include "state/store.hpp"

namespace drover::server {

// One change another replica stored, as the hub takes it.
struct RemoteChange {
  std::string node;
  std::optional<state::NodeRecord> record{};  // a node record written
  std::vector<state::TimelineEntry> entries{};
  bool removed = false;  // the node record was deleted
};

struct RemoteBatch {
  std::vector<RemoteChange> changes{};
  std::size_t corrupt = 0;  // values that are not what EtcdStore writes
};

// The changes in one batch of watch events under `prefix`, leaving out the timeline
// entries written by the store `local_instance`, the node records written at one of
// `local_revisions` (null: none) and every other key. Pure.
RemoteBatch remoteChanges(const std::vector<etcd::Event>& events, std::string_view prefix,
                          std::string_view local_instance,
                          const state::EtcdStore::OwnRevisions* local_revisions);

struct LiveFeedOptions {
  std::string prefix{};          // server.state.prefix
  std::string local_instance{};  // this replica's EtcdStore::instance()
  std::shared_ptr<const state::EtcdStore::OwnRevisions> local_revisions{};  // ownRevisions()
};

class LiveFeed {
 public:
  // Starts one watch thread per client (each client serves only its watch).
  LiveFeed(etcd::Client& nodes_watcher, etcd::Client& timeline_watcher, LiveFeedOptions options,
           std::shared_ptr<LiveEvents> live,
           metrics::Registry& registry = metrics::Registry::global());
  ~LiveFeed();  // stops the watches (within about a second)
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

 private:
  void follow(etcd::Client& client, const std::string& dir);
  void deliver(const std::vector<etcd::Event>& events);

  LiveFeedOptions options_;
  std::shared_ptr<LiveEvents> live_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Counter& changes_;
  metrics::Counter& corrupt_;
  metrics::Counter& compacted_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace drover::server
