#include "ha/lease_store.hpp"

#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "ha/lease_codec.hpp"

namespace drover::ha {

using dhcp::Lease;
using dhcp::LeaseWrite;

struct EtcdLeaseStore::Planned {
  std::vector<etcd::Compare> compares;
  std::vector<etcd::Op> ops;
  std::vector<etcd::Op> reads;  // the failure branch: each key read back
  std::vector<std::pair<std::string, std::optional<Lease>>> after;  // key -> written lease
  std::set<std::string> keys;
  std::optional<Lease> refused;  // what holds the address a refused write wanted

  void merge(Planned&& o) {
    compares.insert(compares.end(), o.compares.begin(), o.compares.end());
    ops.insert(ops.end(), o.ops.begin(), o.ops.end());
    reads.insert(reads.end(), o.reads.begin(), o.reads.end());
    after.insert(after.end(), o.after.begin(), o.after.end());
    keys.insert(o.keys.begin(), o.keys.end());
  }
  bool overlaps(const Planned& o) const {
    for (const auto& k : o.keys)
      if (keys.count(k) != 0) return true;
    return false;
  }
};

EtcdLeaseStore::EtcdLeaseStore(etcd::Client& client, LeaseStoreOptions options,
                               metrics::Registry& registry)
    : client_(client),
      options_(std::move(options)),
      conflicts_(
          registry.counter("ha_lease_conflicts_total",
                           "Lease writes refused because another replica holds the address")),
      decode_errors_(
          registry.counter("ha_lease_decode_errors_total",
                           "Stored leases that could not be decoded (address kept held)")),
      txns_(registry.counter("ha_lease_transactions_total", "etcd transactions for lease writes")),
      log_(log::get("ha")) {
  if (options_.max_ops == 0) options_.max_ops = 1;
}

std::int64_t EtcdLeaseStore::now() const {
  return options_.now ? options_.now() : static_cast<std::int64_t>(std::time(nullptr));
}

EtcdLeaseStore::Known EtcdLeaseStore::decoded(const etcd::KeyValue& kv, std::int64_t seen_at,
                                              std::string* by) {
  Known k;
  k.seen_at = seen_at;
  k.mod_revision = kv.mod_revision;
  auto l = decodeLease(kv.value);
  if (l) {
    k.lease = std::move(l->lease);
    if (by != nullptr) *by = l->by;
  } else {
    k.corrupt = true;
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    log_->error("HA_LEASE_CORRUPT key={} error=\"{}\"", kv.key, l.error().message);
  }
  return k;
}

void EtcdLeaseStore::tellRefused(const std::optional<Lease>& lease) {
  LeaseListener* listener = listener_.load();
  if (lease && listener != nullptr) listener->corrected(*lease);
}

void EtcdLeaseStore::see(const std::string& key, Known k, Notify notify) {
  std::optional<std::string> previous_client;
  {
    std::lock_guard lock(mu_);
    auto& slot = known_[key];
    if (k.seen_at < slot.seen_at) return;  // older than what is known
    const bool same = slot.mod_revision == k.mod_revision && slot.seen_at != 0;
    if (slot.lease) previous_client = slot.lease->client_key;
    slot = k;
    if (same) return;
  }
  LeaseListener* listener = listener_.load();
  if (notify == Notify::kNo || listener == nullptr) return;
  if (k.lease && notify == Notify::kCorrection) {
    listener->corrected(*k.lease);
  } else if (k.lease) {
    listener->stored(*k.lease);
  } else if (!k.corrupt) {
    auto ip = Ipv4Address::parse(key.substr(leasePrefix(options_.prefix).size()));
    if (ip) listener->removed(*ip, previous_client.value_or(""));
  }
}

Result<std::vector<Lease>> EtcdLeaseStore::loadAll() {
  auto r = client_.range(leasePrefix(options_.prefix));
  if (!r) return r.error();
  std::vector<Lease> out;
  std::map<std::string, Known> fresh;
  for (const auto& kv : r->kvs) {
    Known k = decoded(kv, r->revision);
    if (k.lease) out.push_back(*k.lease);
    fresh[kv.key] = std::move(k);
  }
  std::lock_guard lock(mu_);
  known_ = std::move(fresh);
  revision_ = r->revision;
  return out;
}

Status EtcdLeaseStore::plan(std::span<const LeaseWrite> writes, Planned& out) {
  const std::int64_t t = now();
  std::map<std::string, std::size_t> planned;  // key -> its operation in `out`
  std::lock_guard lock(mu_);
  for (const auto& w : writes) {
    const std::string key = leaseKey(options_.prefix, w.lease.ip);
    if (out.keys.count(key) != 0 && planned.count(key) == 0)
      return makeError("lease_bad_write", w.lease.ip.str() + " is written twice in one batch");
    const auto it = known_.find(key);
    const Known k = it == known_.end() ? Known{} : it->second;
    const bool held_by_other =
        k.corrupt || (k.lease && !dhcp::leaseFreeFor(*k.lease, w.lease.client_key, t));
    etcd::Op op;
    std::optional<Lease> after;
    if (w.op == LeaseWrite::Op::Put) {
      if (held_by_other) {
        conflicts_.fetch_add(1, std::memory_order_relaxed);
        out.refused = k.lease;
        return makeError("lease_conflict",
                         fmt::format("{} is held by another client{}", w.lease.ip.str(),
                                     k.corrupt ? " (undecodable lease)" : ""));
      }
      op = etcd::Op::put(key, encodeLease(w.lease, options_.replica));
      after = w.lease;
    } else {
      const bool nothing = k.mod_revision == 0 && !k.lease;
      // Another client's live lease is not this removal's to make.
      const bool others = held_by_other && k.lease && k.lease->client_key != w.lease.client_key;
      if ((nothing || others) && planned.count(key) == 0) continue;
      op = etcd::Op::erase(key);
    }
    // A later write of the same address in one group replaces the earlier one: one
    // operation per key, compared with what was stored before the group.
    if (auto p = planned.find(key); p != planned.end()) {
      out.ops[p->second] = std::move(op);
      out.after[p->second].second = std::move(after);
      continue;
    }
    planned[key] = out.ops.size();
    out.ops.push_back(std::move(op));
    out.after.emplace_back(key, std::move(after));
    out.compares.push_back(etcd::Compare{
        key, etcd::Compare::Target::kMod, etcd::Compare::Result::kEqual, k.mod_revision, {}});
    out.reads.push_back(etcd::Op::get(key));
    out.keys.insert(key);
  }
  return {};
}

Result<bool> EtcdLeaseStore::commit(const Planned& p) {
  if (p.ops.empty()) return true;
  txns_.fetch_add(1, std::memory_order_relaxed);
  auto r = client_.txn(p.compares, p.ops, p.reads);
  if (!r) return r.error();
  if (r->succeeded) {
    for (const auto& [key, lease] : p.after) {
      Known k;
      k.seen_at = r->revision;
      k.mod_revision = lease ? r->revision : 0;
      k.lease = lease;
      see(key, std::move(k), Notify::kNo);
    }
    return true;
  }
  for (std::size_t i = 0; i < r->responses.size() && i < p.reads.size(); ++i) {
    const auto& kvs = r->responses[i].kvs;
    Known k;
    if (kvs.empty()) {
      k.seen_at = r->revision;
    } else {
      k = decoded(kvs.front(), r->revision);
    }
    // News for the engine, not a verdict: the compare that failed may have been another
    // key's; a write this replica cannot make is refused by its retry (tellRefused).
    see(p.reads[i].key, std::move(k), Notify::kChange);
  }
  return false;
}

Status EtcdLeaseStore::applyOne(std::span<const LeaseWrite> writes) {
  for (int attempt = 0; attempt < options_.attempts; ++attempt) {
    Planned p;
    if (auto st = plan(writes, p); !st.ok()) {
      tellRefused(p.refused);
      return st;
    }
    auto done = commit(p);
    if (!done) return done.error();
    if (*done) return {};
  }
  conflicts_.fetch_add(1, std::memory_order_relaxed);
  return makeError("lease_contention",
                   fmt::format("the addresses kept changing under {} attempts", options_.attempts));
}

Status EtcdLeaseStore::apply(std::span<const LeaseWrite> writes) {
  // One reply's writes are few; a reclaim may exceed one transaction and goes in slices.
  for (std::size_t at = 0; at < writes.size(); at += options_.max_ops) {
    const auto n = std::min(options_.max_ops, writes.size() - at);
    if (auto st = applyOne(writes.subspan(at, n)); !st.ok()) return st;
  }
  return {};
}

std::vector<Status> EtcdLeaseStore::applyGroups(std::span<const std::vector<LeaseWrite>> groups) {
  std::vector<Status> results(groups.size());
  Planned chunk;
  std::vector<std::size_t> members;  // groups in `chunk`
  auto flush = [&] {
    if (members.empty()) return;
    auto done = commit(chunk);
    for (std::size_t i : members) {
      if (!done) {
        results[i] = done.error();
      } else if (!*done) {
        results[i] = apply(groups[i]);  // on its own, from the keys read back
      }
    }
    chunk = Planned{};
    members.clear();
  };
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].size() > options_.max_ops) {
      results[i] = apply(groups[i]);
      continue;
    }
    Planned p;
    if (auto st = plan(groups[i], p); !st.ok()) {
      tellRefused(p.refused);
      results[i] = st;
      continue;
    }
    if (chunk.overlaps(p) || chunk.ops.size() + p.ops.size() > options_.max_ops) flush();
    chunk.merge(std::move(p));
    members.push_back(i);
  }
  flush();
  return results;
}

Status EtcdLeaseStore::resync(std::int64_t& from) {
  auto r = client_.range(leasePrefix(options_.prefix));
  if (!r) return r.error();
  std::set<std::string> present;
  for (const auto& kv : r->kvs) {
    present.insert(kv.key);
    std::string by;
    Known k = decoded(kv, r->revision, &by);
    see(kv.key, std::move(k), by != options_.replica ? Notify::kChange : Notify::kNo);
  }
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, k] : known_)
      if (present.count(key) == 0 && (k.lease || k.corrupt)) gone.push_back(key);
  }
  for (const auto& key : gone) {
    Known k;
    k.seen_at = r->revision;
    see(key, std::move(k), Notify::kChange);
  }
  from = r->revision + 1;
  return {};
}

void EtcdLeaseStore::follow(etcd::Client& watcher, const std::atomic<bool>& stop) {
  std::int64_t from = 0;
  {
    std::lock_guard lock(mu_);
    from = revision_ + 1;
  }
  const std::string prefix = leasePrefix(options_.prefix);
  while (!stop.load()) {
    auto st = watcher.watch(
        prefix, from,
        [&](const std::vector<etcd::Event>& events) {
          for (const auto& e : events) {
            if (e.type == etcd::Event::Type::kPut) {
              std::string by;
              Known k = decoded(e.kv, e.kv.mod_revision, &by);
              see(e.kv.key, std::move(k), by != options_.replica ? Notify::kChange : Notify::kNo);
            } else {
              Known k;
              k.seen_at = e.kv.mod_revision;
              see(e.kv.key, std::move(k), Notify::kChange);
            }
            from = e.kv.mod_revision + 1;
          }
          return !stop.load();
        },
        &stop);
    if (stop.load()) break;
    if (!st.ok() && st.error().code == "etcd_compacted") {
      log_->warn("HA_LEASES_RESYNC reason=\"{}\"", st.error().message);
      if (resync(from).ok()) continue;
    } else if (!st.ok()) {
      log_->warn("HA_LEASE_WATCH_BROKEN error=\"{}\" from={}", st.error().message, from);
    }
    for (int i = 0; i < 10 && !stop.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace drover::ha
