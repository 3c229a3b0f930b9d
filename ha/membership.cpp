#include "ha/membership.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace drover::ha {

using nlohmann::json;

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t weight(std::string_view replica, std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over replica, a separator, key
  auto add = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  };
  add(replica);
  h = (h ^ 0xffu) * 0x100000001b3ULL;
  add(key);
  return mix(h);
}

void sleepUnless(const std::atomic<bool>& stop, std::chrono::milliseconds total) {
  const auto until = std::chrono::steady_clock::now() + total;
  while (!stop.load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string encodeReplica(const ReplicaInfo& r) {
  return json{{"id", r.id},
              {"advertise", r.advertise},
              {"api_url", r.api_url},
              {"http_url", r.http_url},
              {"config_hash", r.config_hash},
              {"started_ms", r.started_ms}}
      .dump();
}

Result<ReplicaInfo> decodeReplica(std::string_view in) {
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return makeError("replica_corrupt", "not a JSON object");
  ReplicaInfo r;
  for (auto [name, dest] : {std::pair{"id", &r.id}, std::pair{"advertise", &r.advertise},
                            std::pair{"api_url", &r.api_url}, std::pair{"http_url", &r.http_url},
                            std::pair{"config_hash", &r.config_hash}}) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string())
      return makeError("replica_corrupt", fmt::format("\"{}\" is missing or not a string", name));
    *dest = it->get<std::string>();
  }
  auto it = j.find("started_ms");
  if (it == j.end() || !it->is_number_integer())
    return makeError("replica_corrupt", "\"started_ms\" is missing or not an integer");
  r.started_ms = it->get<std::int64_t>();
  if (r.id.empty()) return makeError("replica_corrupt", "empty id");
  return r;
}

std::vector<std::string> otherApiUrls(std::vector<ReplicaInfo> live, std::string_view self_id,
                                      std::string_view self_url, std::size_t max) {
  std::sort(live.begin(), live.end(),
            [](const ReplicaInfo& a, const ReplicaInfo& b) { return a.id < b.id; });
  // The ids after this one's first, then the ones before: the clients of a dead replica
  // spread over the others instead of all moving to the same one.
  std::stable_partition(live.begin(), live.end(),
                        [&](const ReplicaInfo& r) { return r.id > self_id; });
  std::vector<std::string> out;
  for (const auto& r : live) {
    if (out.size() >= max) break;
    if (r.id == self_id || r.api_url.empty() || r.api_url == self_url) continue;
    if (std::find(out.begin(), out.end(), r.api_url) != out.end()) continue;
    out.push_back(r.api_url);
  }
  return out;
}

std::string ownerOf(std::string_view key, const std::vector<std::string>& ids) {
  const std::string* best = nullptr;
  std::uint64_t best_w = 0;
  for (const auto& id : ids) {
    const auto w = weight(id, key);
    if (best == nullptr || w > best_w || (w == best_w && id < *best)) {
      best = &id;
      best_w = w;
    }
  }
  return best == nullptr ? std::string() : *best;
}

Membership::Membership(etcd::Client& client, etcd::Client& watcher, MembershipOptions options,
                       metrics::Registry& registry)
    : client_(client),
      watcher_(watcher),
      options_(std::move(options)),
      log_(log::get("ha")),
      live_gauge_(registry.gauge("ha_replicas_live", "Replicas of drover serve seen alive")),
      renew_failures_(registry.counter("ha_replica_renew_failures_total",
                                       "Failed renewals of this replica's liveness lease")) {
  if (options_.ttl_s < 2) options_.ttl_s = 2;  // etcd's minimum lease TTL is about 1.5 s
}

std::string Membership::key() const {
  return options_.prefix + "/replicas/" + options_.self.id;
}

Status Membership::registerSelf() {
  auto lease = client_.grantLease(options_.ttl_s);
  if (!lease) return lease.error();
  ReplicaInfo self;
  {
    std::lock_guard lock(mu_);
    self = options_.self;
  }
  auto created = client_.createIfAbsent(key(), encodeReplica(self), *lease);
  if (!created || !*created) {
    (void)client_.revokeLease(*lease);
    if (!created) return created.error();
    return makeError(
        "replica_id_in_use",
        fmt::format("a live replica already has the id \"{}\" ({})", options_.self.id, key()));
  }
  lease_.store(*lease);
  self_alive_.store(true);
  return {};
}

Result<std::unique_ptr<Membership>> Membership::start(etcd::Client& client, etcd::Client& watcher,
                                                      MembershipOptions options,
                                                      metrics::Registry& registry) {
  if (options.self.id.empty()) return makeError("replica_id", "a replica needs an id");
  std::unique_ptr<Membership> m(new Membership(client, watcher, std::move(options), registry));
  // A replica restarted after a crash finds its old key until that lease runs out.
  Status st;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(m->options_.ttl_s + 2);
  do {
    st = m->registerSelf();
    if (st.ok() || st.error().code != "replica_id_in_use") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  } while (std::chrono::steady_clock::now() < deadline);
  if (!st.ok()) return st.error();
  m->publish({m->options_.self});
  m->log_->info("HA_REPLICA_JOINED id={} ttl={}s", m->options_.self.id, m->options_.ttl_s);
  m->keeper_ = std::thread([p = m.get()] { p->keep(); });
  m->watcher_thread_ = std::thread([p = m.get()] { p->watch(); });
  return m;
}

void Membership::stopThreads() {
  stop_.store(true);
  if (keeper_.joinable()) keeper_.join();
  if (watcher_thread_.joinable()) watcher_thread_.join();
}

Membership::~Membership() {
  stopThreads();
  if (const auto lease = lease_.exchange(0); lease != 0) {
    (void)client_.revokeLease(lease);
    log_->info("HA_REPLICA_LEFT id={}", options_.self.id);
  }
}

void Membership::abandonForTest() {
  stopThreads();
  lease_.store(0);
  self_alive_.store(false);
}

void Membership::keep() {
  const auto period = std::chrono::milliseconds(options_.ttl_s * 1000 / 3);
  auto last_ok = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    sleepUnless(stop_, period);
    if (stop_.load()) break;
    Status st;
    if (const auto lease = lease_.load(); lease == 0) {
      st = registerSelf();
    } else if (auto ttl = client_.keepAlive(lease); !ttl) {
      st = ttl.error();
    } else if (*ttl <= 0) {  // expired while etcd could not be reached: register again
      lease_.store(0);
      st = registerSelf();
    }
    if (st.ok()) {
      if (!self_alive_.exchange(true)) log_->warn("HA_REPLICA_ALIVE_AGAIN id={}", options_.self.id);
      last_ok = std::chrono::steady_clock::now();
      continue;
    }
    renew_failures_.fetch_add(1, std::memory_order_relaxed);
    if (std::chrono::steady_clock::now() - last_ok >= std::chrono::seconds(options_.ttl_s) &&
        self_alive_.exchange(false)) {
      log_->error("HA_REPLICA_CUT_OFF id={} error=\"{}\" (answering no client until etcd is back)",
                  options_.self.id, st.error().message);
    }
  }
}

void Membership::publish(std::vector<ReplicaInfo> replicas) {
  std::sort(replicas.begin(), replicas.end(),
            [](const ReplicaInfo& a, const ReplicaInfo& b) { return a.id < b.id; });
  std::vector<std::string> ids;
  for (const auto& r : replicas) ids.push_back(r.id);
  if (std::find(ids.begin(), ids.end(), options_.self.id) == ids.end())
    ids.push_back(options_.self.id);
  std::function<void(const std::vector<ReplicaInfo>&)> notify;
  {
    std::lock_guard lock(mu_);
    if (live_ == replicas && !live_.empty()) return;
    live_ = replicas;
    ids_ = std::move(ids);
    notify = on_change_;
  }
  live_gauge_.store(static_cast<std::int64_t>(replicas.size()));
  std::string names;
  for (const auto& r : replicas) names += (names.empty() ? "" : ",") + r.id;
  log_->info("HA_REPLICAS live={} at_ms={}", names, nowMs());
  if (notify) notify(replicas);
}

void Membership::watch() {
  const std::string prefix = options_.prefix + "/replicas/";
  while (!stop_.load()) {
    auto all = watcher_.range(prefix);
    if (!all) {
      log_->warn("HA_REPLICAS_UNREADABLE error=\"{}\"", all.error().message);
      sleepUnless(stop_, std::chrono::seconds(1));
      continue;
    }
    std::map<std::string, ReplicaInfo> current;
    for (const auto& kv : all->kvs)
      if (auto r = decodeReplica(kv.value)) current[kv.key] = *r;
    auto snapshot = [&] {
      std::vector<ReplicaInfo> v;
      for (const auto& [k, r] : current) v.push_back(r);
      return v;
    };
    publish(snapshot());
    auto st = watcher_.watch(
        prefix, all->revision + 1,
        [&](const std::vector<etcd::Event>& events) {
          for (const auto& e : events) {
            if (e.type == etcd::Event::Type::kDelete) {
              current.erase(e.kv.key);
            } else if (auto r = decodeReplica(e.kv.value)) {
              current[e.kv.key] = *r;
            } else {
              log_->error("HA_REPLICA_CORRUPT key={} error=\"{}\"", e.kv.key, r.error().message);
            }
          }
          publish(snapshot());
          return !stop_.load();
        },
        &stop_);
    if (!st.ok() && !stop_.load()) {
      log_->warn("HA_REPLICA_WATCH_BROKEN error=\"{}\"", st.error().message);
      sleepUnless(stop_, std::chrono::milliseconds(500));
    }
  }
}

bool Membership::owns(std::string_view client_key) const {
  if (!self_alive_.load()) return false;
  std::lock_guard lock(mu_);
  return ownerOf(client_key, ids_) == options_.self.id;
}

bool Membership::prefers(Ipv4Address ip) const {
  std::lock_guard lock(mu_);
  return ownerOf("ip:" + ip.str(), ids_) == options_.self.id;
}

std::vector<ReplicaInfo> Membership::live() const {
  std::lock_guard lock(mu_);
  return live_;
}

Status Membership::update(const std::string& config_hash) {
  ReplicaInfo self;
  {
    std::lock_guard lock(mu_);
    options_.self.config_hash = config_hash;
    self = options_.self;
  }
  const auto lease = lease_.load();
  if (lease == 0) return makeError("replica_not_alive", "not registered with etcd right now");
  auto put = client_.put(key(), encodeReplica(self), lease);
  if (!put) return put.error();
  return {};
}

void Membership::setOnChange(std::function<void(const std::vector<ReplicaInfo>&)> fn) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(fn);
}

}  // namespace drover::ha
