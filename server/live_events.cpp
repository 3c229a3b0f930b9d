#include "server/live_events.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace drover::server {

using nlohmann::json;

struct LiveEvents::Client {
  std::deque<std::string> queue{};  // guarded by LiveEvents::mu_
  bool dropped = false;
  bool greeted = false;
  std::chrono::steady_clock::time_point last_sent = std::chrono::steady_clock::now();
};

// What the HTTP server polls for one page.
class LiveStream final : public http::StreamSource {
 public:
  LiveStream(std::shared_ptr<LiveEvents> hub, std::shared_ptr<LiveEvents::Client> client,
             std::function<bool()> still_allowed)
      : hub_(std::move(hub)),
        client_(std::move(client)),
        still_allowed_(std::move(still_allowed)) {}
  ~LiveStream() override { hub_->forget(client_.get()); }

  std::optional<std::string> next() override {
    const auto now = std::chrono::steady_clock::now();
    if (still_allowed_ && now - last_check_ >= hub_->options_.heartbeat) {
      last_check_ = now;
      if (!still_allowed_()) return std::nullopt;
    }
    std::string out;
    std::lock_guard lock(hub_->mu_);
    if (client_->dropped || hub_->stop_) return std::nullopt;
    if (!client_->greeted) {
      client_->greeted = true;
      out = fmt::format("retry: 2000\nevent: hello\ndata: {}\n\n",
                        json{{"interval_ms", hub_->options_.interval.count()}}.dump());
    }
    for (auto& m : client_->queue) out += m;
    client_->queue.clear();
    if (out.empty() && now - client_->last_sent >= hub_->options_.heartbeat)
      out = ": keepalive\n\n";
    if (!out.empty()) client_->last_sent = now;
    return out;
  }

 private:
  std::shared_ptr<LiveEvents> hub_;
  std::shared_ptr<LiveEvents::Client> client_;
  std::function<bool()> still_allowed_;
  std::chrono::steady_clock::time_point last_check_ = std::chrono::steady_clock::now();
};

LiveEvents::LiveEvents(LiveOptions options, metrics::Registry& registry)
    : options_(options),
      messages_(registry.counter("ui_live_messages_total",
                                 "Coalesced dashboard updates queued for pages")),
      changes_(
          registry.counter("ui_live_changes_total", "Node changes published to the dashboard")),
      slow_drops_(registry.counter("ui_live_drops_total",
                                   "Dashboard event streams refused or dropped",
                                   "reason=\"slow_client\"")),
      full_drops_(registry.counter("ui_live_drops_total",
                                   "Dashboard event streams refused or dropped",
                                   "reason=\"too_many_clients\"")),
      clients_gauge_(registry.gauge("ui_live_clients", "Dashboard pages receiving live updates")),
      flusher_([this] { run(); }) {}

LiveEvents::~LiveEvents() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  flusher_.join();
}

void LiveEvents::publish(const std::string& name, const state::NodeRecord* record,
                         const std::vector<state::TimelineEntry>& entries, bool removed) {
  static constexpr std::string_view kRemoved = "-";
  std::lock_guard lock(mu_);
  if (clients_.empty()) return;                   // nobody is looking: nothing to gather
  if (shown_.size() > kMaxShown) shown_.clear();  // bounded; at worst a state is sent twice
  // A node's state is sent once: the same record published again (stored here, then seen
  // through the etcd watch) is no change.
  std::optional<std::string> state_text;
  if (removed) {
    auto& shown = shown_[name];
    if (shown == kRemoved) return;
    shown = kRemoved;
  } else if (record != nullptr) {
    state_text = std::string(state::toString(record->status.state)) +
                 (record->status.reinstall_requested ? "+reinstall" : "") +
                 (record->status.capture_requested ? "+capture" : "");
    auto shown_as = fmt::format("{}@{}", *state_text, record->state_since_ms);
    auto& shown = shown_[name];
    if (shown == shown_as)
      state_text.reset();
    else
      shown = std::move(shown_as);
  }
  if (!removed && !state_text && entries.empty()) return;
  ++changes_;
  auto& p = pending_[name];
  if (removed) {
    p = Pending{};
    p.removed = true;
    return;
  }
  p.removed = false;
  if (state_text) {
    p.state = std::move(*state_text);
    p.since = record->state_since_ms;
  }
  p.entries.insert(p.entries.end(), entries.begin(), entries.end());
  if (p.entries.size() > options_.entries_per_node) {
    // Keep the newest: the page fetches the whole timeline when it sees "more".
    p.entries.erase(p.entries.begin(),
                    p.entries.end() - static_cast<std::ptrdiff_t>(options_.entries_per_node));
    p.more = true;
  }
}

std::shared_ptr<http::StreamSource> LiveEvents::subscribe(std::function<bool()> still_allowed) {
  auto client = std::make_shared<Client>();
  {
    std::lock_guard lock(mu_);
    if (clients_.size() >= options_.max_clients) {
      ++full_drops_;
      return nullptr;
    }
    clients_.push_back(client);
    clients_gauge_ = static_cast<std::int64_t>(clients_.size());
  }
  return std::make_shared<LiveStream>(shared_from_this(), std::move(client),
                                      std::move(still_allowed));
}

std::size_t LiveEvents::clients() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

void LiveEvents::forget(const Client* client) {
  std::lock_guard lock(mu_);
  std::erase_if(clients_, [client](const auto& c) { return c.get() == client; });
  clients_gauge_ = static_cast<std::int64_t>(clients_.size());
  if (clients_.empty()) {
    pending_.clear();
    shown_.clear();
  }
}

void LiveEvents::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, options_.interval, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    flush();
    lock.lock();
  }
}

void LiveEvents::flush() {
  std::map<std::string, Pending> batch;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    if (pending_.empty()) return;
    batch.swap(pending_);
    seq = ++seq_;
  }
  json nodes = json::array();
  for (auto& [name, p] : batch) {
    json n = {{"name", name}};
    if (p.removed) {
      n["removed"] = true;
    } else {
      if (p.state) {
        n["state"] = *p.state;
        n["since"] = p.since;
      }
      json events = json::array();
      for (const auto& e : p.entries)
        events.push_back({{"ts", e.ts_ms}, {"phase", e.phase}, {"message", e.message}});
      if (!p.entries.empty()) {
        n["last_event"] = p.entries.back().phase;
        n["last_event_ts"] = p.entries.back().ts_ms;
      }
      n["events"] = std::move(events);
      n["more"] = p.more;
    }
    nodes.push_back(std::move(n));
  }
  auto message = fmt::format("id: {}\nevent: nodes\ndata: {}\n\n", seq,
                             json{{"seq", seq}, {"nodes", nodes}}.dump());
  std::lock_guard lock(mu_);
  for (auto it = clients_.begin(); it != clients_.end();) {
    auto& c = **it;
    if (c.queue.size() >= options_.queue_limit) {
      // Not reading: drop it rather than hold more for it. Its stream ends at its next
      // turn and the page reconnects and reloads what it shows.
      c.dropped = true;
      c.queue.clear();
      ++slow_drops_;
      it = clients_.erase(it);
      continue;
    }
    c.queue.push_back(message);
    ++messages_;
    ++it;
  }
  clients_gauge_ = static_cast<std::int64_t>(clients_.size());
}

}  // namespace drover::server
