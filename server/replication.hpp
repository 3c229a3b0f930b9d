// `drover serve` as one replica among several that share etcd (server.state.backend: etcd).
//
// What is shared, in etcd under server.state.prefix: node records, timelines and tokens
// (state::EtcdStore), DHCP leases (ha::EtcdLeaseStore), the replicas alive and what each
// serves (ha::Membership), the API's CA, the operator token and the boot token key
// (`secrets/`, so an agent that pinned the CA through one replica trusts every other, one
// operator token works everywhere, and a boot token one replica issued is accepted by all),
// the image catalog's index and sidecars and which replica holds which blob
// (images::shared::EtcdMetadata, through server_files' catalogOptions), and the dashboard's
// live updates (server/live_feed.hpp: what one replica stores reaches every replica's
// pages). What stays on this
// replica: its copies of those secrets in the state directory, its image blobs (fetched by
// digest from a replica that holds them when first needed), and the TFTP root.
//
// The declaration is the operator's to keep the same on every replica (one file deployed
// everywhere). Each replica publishes the sha256 of the file it serves; when another
// replica's differs, this one re-reads its own file (a reload on one replica is picked up
// by the others when the file is shared), and says CONFIG_MISMATCH when they still differ.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/config.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "dhcp/server/engine.hpp"
#include "dhcp/server/group_commit.hpp"
#include "ha/lease_store.hpp"
#include "ha/membership.hpp"
#include "server/live_feed.hpp"
#include "state/store.hpp"

namespace drover::server {

class Replication {
 public:
  // Connects to etcd (an error when no endpoint answers). `id` names this replica.
  static Result<std::unique_ptr<Replication>> open(const cluster::StateConfig& config,
                                                   std::string id);
  ~Replication();

  const std::string& id() const { return id_; }

  // The shared node store (moved out: the caller owns it from then on).
  std::unique_ptr<state::StateStore> takeStore();

  // Makes the state directory's tls/ca.{crt,key} and operator.token the shared ones: the
  // first replica publishes its own (made now if it has none), the others take them.
  Status shareSecrets(const std::filesystem::path& state_dir, const std::string& ca_common_ip);

  // Makes the state directory's boot-token.key the shared one (`secrets/boot-token-key`):
  // the first replica publishes its own (made now if it has none), the others take it.
  Status shareBootTokenKey(const std::filesystem::path& state_dir);

  // Joins the live replicas; from then on `on_config_differs` runs (on a watcher thread)
  // whenever another replica serves a declaration with another hash than this one's.
  Status join(ha::ReplicaInfo self, std::function<void()> on_config_differs);
  // After a reload: publishes the hash this replica serves now.
  void servingConfig(const std::string& config_hash);
  const ha::Membership* membership() const { return membership_.get(); }

  // The shared lease store, for the DHCP engine's group committer.
  ha::EtcdLeaseStore& leases() { return *leases_; }
  // Feeds other replicas' lease changes to `engine` on `io` (its thread), and makes the
  // engine answer only the clients this replica owns. Call after the engine has restored
  // leases.loadAll().
  void serveDhcp(dhcp::Engine& engine, boost::asio::io_context& io,
                 dhcp::GroupCommitter& committer);
  // Stops feeding the engine (before the engine or its io_context go).
  void stopDhcp();

  // Pushes the node changes other replicas store to `live` (server/live_feed.hpp), until
  // this object goes.
  void feedLive(std::shared_ptr<LiveEvents> live);

 private:
  class EngineFeed;
  Replication() = default;
  Result<std::unique_ptr<etcd::Client>> client() const;
  // The value of `key` in etcd, or `local` published there when none is (the first
  // writer wins; the winner's value is returned).
  Result<std::string> adopt(const std::string& key, const std::string& local);
  void compareConfigs(const std::vector<ha::ReplicaInfo>& live);

  cluster::StateConfig config_;
  std::string id_;
  std::unique_ptr<etcd::Client> store_client_, lease_client_, lease_watcher_, member_client_,
      member_watcher_, nodes_watcher_, timeline_watcher_;
  std::unique_ptr<state::StateStore> store_;
  std::string store_instance_;  // EtcdStore::instance() of store_, and its ownRevisions()
  std::shared_ptr<const state::EtcdStore::OwnRevisions> store_revisions_;
  std::unique_ptr<LiveFeed> live_feed_;
  std::unique_ptr<ha::EtcdLeaseStore> leases_;
  std::unique_ptr<ha::Membership> membership_;
  std::unique_ptr<EngineFeed> feed_;
  std::atomic<bool> stop_follow_{false};
  std::thread follower_;
  std::mutex config_mu_;
  std::string config_hash_;
  std::function<void()> on_config_differs_;
  metrics::Gauge& mismatch_ = metrics::Registry::global().gauge(
      "ha_config_mismatch", "1 while another live replica serves another declaration");
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace drover::server
