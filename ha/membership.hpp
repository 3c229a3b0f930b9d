// Which replicas of `drover serve` are alive, and which of them answers which client.
//
// Each replica keeps a key `<prefix>/replicas/<id>` alive under an etcd lease of `ttl_s`
// seconds, renewed every third of it, and watches the others' keys. When a replica dies
// (kill -9, power, partition from etcd) its key goes with its lease after at most ttl_s,
// and the survivors take its clients over as soon as the watch tells them. A replica that
// leaves cleanly revokes its lease: the others take over at once.
//
// Ownership is rendezvous hashing (highest random weight) over the live replicas: a client
// belongs to the replica with the highest hash(replica, client). When one replica goes,
// only its clients move; when one comes, it takes about 1/N of everyone's. A replica that
// cannot renew its own key for ttl_s owns nobody: it cannot commit leases anyway, and the
// others have taken its clients.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "dhcp/server/responsibility.hpp"
#include "state/etcd/client.hpp"

namespace drover::ha {

struct ReplicaInfo {
  std::string id;
  std::string advertise;    // the address machines are sent to
  std::string api_url;      // https://...
  std::string http_url;     // http://...
  std::string config_hash;  // sha256 of its declaration file
  std::int64_t started_ms = 0;

  friend bool operator==(const ReplicaInfo&, const ReplicaInfo&) = default;
};

std::string encodeReplica(const ReplicaInfo& r);
Result<ReplicaInfo> decodeReplica(std::string_view json);  // error code replica_corrupt

// The API URLs of the replicas in `live` other than `self_id`, for a client to fail over to
// after `self_url`: in replica-id order starting after `self_id` and wrapping around (a
// stable order that is not the same for every replica), empty URLs, `self_url` and repeats
// left out, at most `max`.
std::vector<std::string> otherApiUrls(std::vector<ReplicaInfo> live, std::string_view self_id,
                                      std::string_view self_url, std::size_t max);

// The owner of `key` among `ids` (rendezvous hashing); "" when `ids` is empty.
std::string ownerOf(std::string_view key, const std::vector<std::string>& ids);

struct MembershipOptions {
  std::string prefix = "/drover";
  ReplicaInfo self;
  std::int64_t ttl_s = 3;
};

class Membership final : public dhcp::Responsibility {
 public:
  // Registers this replica (an error when etcd cannot be reached or another live replica
  // has the same id) and starts the keeper and watcher threads. `client` is used only by
  // the keeper, `watcher` only by the watch.
  static Result<std::unique_ptr<Membership>> start(
      etcd::Client& client, etcd::Client& watcher, MembershipOptions options,
      metrics::Registry& registry = metrics::Registry::global());
  ~Membership() override;  // leaves: revokes the lease

  bool owns(std::string_view client_key) const override;
  bool prefers(Ipv4Address ip) const override;

  // Every live replica, by id (this one included while it is alive).
  std::vector<ReplicaInfo> live() const;
  bool selfAlive() const { return self_alive_.load(); }
  const std::string& id() const { return options_.self.id; }

  // Publishes a new declaration hash for this replica (after a reload).
  Status update(const std::string& config_hash);

  // Called on the watcher's thread after every change of the live set.
  void setOnChange(std::function<void(const std::vector<ReplicaInfo>&)> fn);

  // Stops renewing and watching without revoking, as a crash would (tests).
  void abandonForTest();

 private:
  Membership(etcd::Client& client, etcd::Client& watcher, MembershipOptions options,
             metrics::Registry& registry);
  std::string key() const;
  Status registerSelf();
  void keep();
  void watch();
  void publish(std::vector<ReplicaInfo> replicas);
  void stopThreads();

  etcd::Client& client_;
  etcd::Client& watcher_;
  MembershipOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Gauge& live_gauge_;
  metrics::Counter& renew_failures_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> self_alive_{false};
  std::atomic<std::int64_t> lease_{0};
  mutable std::mutex mu_;
  std::vector<ReplicaInfo> live_;
  std::vector<std::string> ids_;  // live_'s ids, this one always included while alive
  std::function<void(const std::vector<ReplicaInfo>&)> on_change_;
  std::thread keeper_;
  std::thread watcher_thread_;
};

}  // namespace drover::ha
