// Live updates for the dashboard (docs/dashboard.md, "Live updates"): node state changes and
// timeline entries, coalesced and pushed to the open pages as Server-Sent Events.
//
// Writers publish every change as it is stored (PublishingStore wraps the state store). The
// changes gather per node; every `interval` one message carrying all the nodes that changed
// is queued for each connected page, so a storm of a thousand machines costs a few messages
// a second per page. Each page has a bounded queue: a page that does not keep up is
// dropped (its stream ends, the page reconnects and reloads) and counted, never waited for.
//
// Metrics: ui_live_clients, ui_live_messages_total, ui_live_changes_total,
// ui_live_drops_total{reason="slow_client"|"too_many_clients"}.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.hpp"
#include "http/message.hpp"
#include "state/store.hpp"

namespace drover::server {

struct LiveOptions {
  std::chrono::milliseconds interval{std::chrono::milliseconds(300)};  // coalescing period
  std::size_t max_clients = 64;
  std::size_t queue_limit = 32;        // messages waiting per page; more drops the page
  std::size_t entries_per_node = 20;   // timeline entries per node per message; more: "more"
  std::chrono::seconds heartbeat{15};  // comment line on a quiet stream (finds closed pages)
};

class LiveEvents : public std::enable_shared_from_this<LiveEvents> {
 public:
  explicit LiveEvents(LiveOptions options = {},
                      metrics::Registry& registry = metrics::Registry::global());
  ~LiveEvents();
  LiveEvents(const LiveEvents&) = delete;
  LiveEvents& operator=(const LiveEvents&) = delete;

  // A node changed: its new record (null when only timeline entries were added) and the
  // entries stored with the change. `removed`: the node is gone. A record whose state and
  // state_since_ms were already sent for that node (or a second removal) adds nothing: each
  // replica publishes what it stores, and with the etcd backend also what every replica
  // stores (server/live_feed.hpp).
  void publish(const std::string& name, const state::NodeRecord* record,
               const std::vector<state::TimelineEntry>& entries, bool removed = false);

  // A new page's event stream; null when max_clients pages are connected (counted).
  // `still_allowed`, when set, is asked every heartbeat period: false ends the stream (the
  // page's session ended or expired).
  std::shared_ptr<http::StreamSource> subscribe(std::function<bool()> still_allowed = {});
  std::size_t clients() const;

  struct Client;

 private:
  struct Pending {
    std::optional<std::string> state{};
    std::int64_t since = 0;
    std::vector<state::TimelineEntry> entries{};
    bool more = false;
    bool removed = false;
  };
  void run();
  void flush();
  void forget(const Client* client);
  friend class LiveStream;

  LiveOptions options_;
  metrics::Counter& messages_;
  metrics::Counter& changes_;
  metrics::Counter& slow_drops_;
  metrics::Counter& full_drops_;
  metrics::Gauge& clients_gauge_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Pending> pending_;  // by node; bounded by the number of nodes
  // What each node's state was last sent as ("<state>@<since>", "-" when removed), so that
  // one change published twice (here and through the etcd watch) is sent once.
  std::map<std::string, std::string> shown_;
  static constexpr std::size_t kMaxShown = 100000;
  std::vector<std::shared_ptr<Client>> clients_;
  std::uint64_t seq_ = 0;
  bool stop_ = false;
  std::thread flusher_;
};

// A StateStore that forwards every call to `inner` and publishes what was written.
std::unique_ptr<state::StateStore> publishingStore(std::unique_ptr<state::StateStore> inner,
                                                   std::shared_ptr<LiveEvents> live);

}  // namespace drover::server
