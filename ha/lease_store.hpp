// The DHCP lease store shared by every replica of `drover serve`, on etcd v3: one key per
// address (ha/lease_codec.hpp). No address is ever stored for two clients: every write is a
// transaction that compares the key's mod_revision with the one this replica last saw and
// writes only if the lease it saw leaves the address free for the writing client
// (dhcp::leaseFreeFor). A write is acknowledged only once etcd has committed it.
//
// Group commit: applyGroups() puts many replies' writes in one transaction (up to etcd's
// 128 operations, each address once). When a compare fails, the transaction's failure
// branch reads the keys back, and each group is retried on its own, so one conflict costs
// only its own reply (error lease_conflict) and the engine learns the lease that won.
//
// follow() watches the other replicas' writes and hands them to a Listener, so every
// replica's engine sees the same leases.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "dhcp/server/lease_store.hpp"
#include "state/etcd/client.hpp"

namespace drover::ha {

struct LeaseStoreOptions {
  std::string prefix = "/drover";
  std::string replica;                // written into every lease ("by")
  std::size_t max_ops = 128;          // etcd's --max-txn-ops default
  int attempts = 8;                   // per group, when its compares keep failing
  std::function<std::int64_t()> now;  // Unix seconds; the system clock when empty
};

// What another replica did to the shared leases (or what won a conflict).
class LeaseListener {
 public:
  virtual ~LeaseListener() = default;
  virtual void stored(const dhcp::Lease& lease) = 0;
  // What the store holds for an address this replica just tried to write (a conflict): it
  // wins over whatever the engine holds there.
  virtual void corrected(const dhcp::Lease& lease) { stored(lease); }
  // The lease of `ip` that `client_key` held is gone ("" when who held it is not known).
  virtual void removed(Ipv4Address ip, const std::string& client_key) = 0;
};

class EtcdLeaseStore final : public dhcp::LeaseStore {
 public:
  // `client` is used for writes and reads only by this store (its calls are serialised).
  EtcdLeaseStore(etcd::Client& client, LeaseStoreOptions options,
                 metrics::Registry& registry = metrics::Registry::global());

  // Every stored lease; also the revision follow() starts after. Undecodable values are
  // skipped, logged and counted (ha_lease_decode_errors_total); their address stays held.
  Result<std::vector<dhcp::Lease>> loadAll() override;
  Status apply(std::span<const dhcp::LeaseWrite> writes) override;
  std::vector<Status> applyGroups(std::span<const std::vector<dhcp::LeaseWrite>> groups) override;

  // Called for other replicas' writes seen by follow() and for the lease that won a
  // conflict; set before follow() starts. Called on follow()'s or the committer's thread.
  void setListener(LeaseListener* listener) { listener_.store(listener); }

  // Watches the lease keys from loadAll()'s revision until `*stop`, on `watcher` (its own
  // client: a watch holds a connection). Reconnects after a broken stream; when etcd has
  // compacted past the last revision seen, reloads and reports the difference.
  void follow(etcd::Client& watcher, const std::atomic<bool>& stop);

 private:
  struct Known {
    std::int64_t seen_at = 0;       // the etcd revision this was true at
    std::int64_t mod_revision = 0;  // the key's; 0: absent
    std::optional<dhcp::Lease> lease;
    bool corrupt = false;  // present but undecodable: the address stays held
  };
  struct Planned;

  std::int64_t now() const;
  // Compares, operations and reads for `writes` from what is known; a group that the known
  // leases already refuse gets its error instead.
  Status plan(std::span<const dhcp::LeaseWrite> writes, Planned& out);
  // One transaction for `plan`; true when committed, false when a compare failed (the
  // keys' current values are then known). Errors are etcd's.
  Result<bool> commit(const Planned& plan);
  Status applyOne(std::span<const dhcp::LeaseWrite> writes);
  // Records what `key` was at revision `k.seen_at` unless something newer is known; tells
  // the listener when `notify` and it was news.
  enum class Notify { kNo, kChange, kCorrection };
  void see(const std::string& key, Known k, Notify notify);
  void tellRefused(const std::optional<dhcp::Lease>& lease);
  Known decoded(const etcd::KeyValue& kv, std::int64_t seen_at, std::string* by = nullptr);
  // After a compacted watch: reads every lease again and reports what changed.
  Status resync(std::int64_t& from);

  etcd::Client& client_;
  LeaseStoreOptions options_;
  std::atomic<LeaseListener*> listener_{nullptr};
  std::mutex mu_;
  std::map<std::string, Known> known_;  // by key
  std::int64_t revision_ = 0;           // of the last loadAll
  metrics::Counter& conflicts_;
  metrics::Counter& decode_errors_;
  metrics::Counter& txns_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace drover::ha
