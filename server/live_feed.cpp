#include "server/live_feed.hpp"

#include <chrono>

#include "state/etcd/records.hpp"

namespace drover::server {
namespace {

void sleepUnless(const std::atomic<bool>& stop, std::chrono::milliseconds total) {
  const auto until = std::chrono::steady_clock::now() + total;
  while (!stop.load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace

RemoteBatch remoteChanges(const std::vector<etcd::Event>& events, std::string_view prefix,
                          std::string_view local_instance,
                          const state::EtcdStore::OwnRevisions* local_revisions) {
  RemoteBatch out;
  for (const auto& e : events) {
    const bool put = e.type == etcd::Event::Type::kPut;
    if (auto node = state::EtcdStore::nodeOfKey(prefix, e.kv.key)) {
      if (local_revisions != nullptr && local_revisions->contains(e.kv.mod_revision)) continue;
      if (!put) {
        out.changes.push_back(
            {.node = std::move(*node), .record = {}, .entries = {}, .removed = true});
        continue;
      }
      auto rec = state::etcd_records::decodeNode(e.kv.key, e.kv.value);
      if (!rec || rec->name != *node) {
        ++out.corrupt;
        continue;
      }
      out.changes.push_back(
          {.node = std::move(*node), .record = std::move(*rec), .entries = {}, .removed = false});
      continue;
    }
    // Timeline entries go with their node's removal: nothing to show for their deletion.
    auto tl = state::EtcdStore::timelineKeyOf(prefix, e.kv.key);
    if (!tl || !put || tl->instance == local_instance) continue;
    auto entry = state::etcd_records::decodeEntry(e.kv.key, e.kv.value);
    if (!entry) {
      ++out.corrupt;
      continue;
    }
    // Consecutive entries of one node travel together.
    if (!out.changes.empty() && out.changes.back().node == tl->node && !out.changes.back().record &&
        !out.changes.back().removed) {
      out.changes.back().entries.push_back(std::move(*entry));
      continue;
    }
    out.changes.push_back({.node = std::move(tl->node),
                           .record = {},
                           .entries = {std::move(*entry)},
                           .removed = false});
  }
  return out;
}

LiveFeed::LiveFeed(etcd::Client& nodes_watcher, etcd::Client& timeline_watcher,
                   LiveFeedOptions options, std::shared_ptr<LiveEvents> live,
                   metrics::Registry& registry)
    : options_(std::move(options)),
      live_(std::move(live)),
      log_(log::get("ha")),
      changes_(registry.counter("ui_live_remote_changes_total",
                                "Node changes other replicas stored, pushed to this one's pages")),
      corrupt_(registry.counter("ui_live_remote_drops_total",
                                "Other replicas' node changes not pushed to the dashboard",
                                "reason=\"corrupt\"")),
      compacted_(registry.counter("ui_live_remote_drops_total",
                                  "Other replicas' node changes not pushed to the dashboard",
                                  "reason=\"history_compacted\"")) {
  while (!options_.prefix.empty() && options_.prefix.back() == '/') options_.prefix.pop_back();
  threads_.emplace_back(
      [this, &nodes_watcher] { follow(nodes_watcher, options_.prefix + "/nodes/"); });
  threads_.emplace_back(
      [this, &timeline_watcher] { follow(timeline_watcher, options_.prefix + "/timeline/"); });
}

LiveFeed::~LiveFeed() {
  stop_.store(true);
  for (auto& t : threads_) t.join();
}

void LiveFeed::deliver(const std::vector<etcd::Event>& events) {
  if (live_->clients() == 0) return;  // nobody is looking: nothing to decode
  auto batch = remoteChanges(events, options_.prefix, options_.local_instance,
                             options_.local_revisions.get());
  if (batch.corrupt > 0) {
    corrupt_.fetch_add(batch.corrupt, std::memory_order_relaxed);
    log_->warn("LIVE_REMOTE_CORRUPT values={}", batch.corrupt);
  }
  for (const auto& c : batch.changes) {
    live_->publish(c.node, c.record ? &*c.record : nullptr, c.entries, c.removed);
    changes_.fetch_add(1, std::memory_order_relaxed);
  }
}

void LiveFeed::follow(etcd::Client& client, const std::string& dir) {
  std::int64_t next = 0;  // the first revision not seen yet; 0: none read so far
  while (!stop_.load()) {
    if (next == 0) {
      // From the current revision on: what was stored before, the pages load themselves.
      auto now = client.range(dir, 1);
      if (!now) {
        log_->warn("LIVE_WATCH_UNREADABLE dir={} error=\"{}\"", dir, now.error().message);
        sleepUnless(stop_, std::chrono::seconds(1));
        continue;
      }
      next = now->revision + 1;
    }
    auto st = client.watch(
        dir, next,
        [&](const std::vector<etcd::Event>& events) {
          if (!events.empty()) next = events.back().kv.mod_revision + 1;
          deliver(events);
          return !stop_.load();
        },
        &stop_);
    if (stop_.load()) break;
    if (!st.ok() && st.error().code == "etcd_compacted") {
      compacted_.fetch_add(1, std::memory_order_relaxed);
      log_->warn(
          "LIVE_WATCH_GAP dir={} (etcd compacted the missed changes; pages show them at "
          "their next reload)",
          dir);
      next = 0;
      continue;
    }
    log_->warn("LIVE_WATCH_BROKEN dir={} error=\"{}\"", dir,
               st.ok() ? std::string("ended") : st.error().message);
    sleepUnless(stop_, std::chrono::milliseconds(500));
  }
}

}  // namespace drover::server
