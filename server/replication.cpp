#include "server/replication.hpp"

#include <boost/asio/post.hpp>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "http/tls.hpp"
#include "state/etcd/store.hpp"
#include "state/tokens.hpp"

namespace drover::server {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> readWhole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

// Hands other replicas' lease changes to the engine, on the engine's thread.
class Replication::EngineFeed final : public ha::LeaseListener {
 public:
  EngineFeed(dhcp::Engine& engine, boost::asio::io_context& io, dhcp::GroupCommitter& committer)
      : engine_(engine), io_(io), committer_(committer) {}
  void stored(const dhcp::Lease& lease) override { learn(lease, false); }
  void corrected(const dhcp::Lease& lease) override { learn(lease, true); }
  void removed(Ipv4Address ip, const std::string& client_key) override {
    boost::asio::post(io_, [e = &engine_, ip, client_key] { e->forget(ip, client_key); });
  }

 private:
  void learn(const dhcp::Lease& lease, bool authoritative) {
    boost::asio::post(io_, [this, lease, authoritative] {
      auto writes = engine_.learn(lease, authoritative);
      if (!writes.empty()) committer_.submit(std::move(writes), [](const Status&) {});
    });
  }

  dhcp::Engine& engine_;
  boost::asio::io_context& io_;
  dhcp::GroupCommitter& committer_;
};

Result<std::unique_ptr<etcd::Client>> Replication::client() const {
  etcd::Options o;
  o.ca_file = config_.ca_file;
  auto c = etcd::Client::create(config_.endpoints, o);
  if (!c) return c.error();
  return std::make_unique<etcd::Client>(std::move(*c));
}

Result<std::unique_ptr<Replication>> Replication::open(const cluster::StateConfig& config,
                                                       std::string id) {
  std::unique_ptr<Replication> r(new Replication());
  r->config_ = config;
  r->id_ = std::move(id);
  r->log_ = log::get("ha");
  for (auto* slot : {&r->store_client_, &r->lease_client_, &r->lease_watcher_, &r->member_client_,
                     &r->member_watcher_, &r->nodes_watcher_, &r->timeline_watcher_}) {
    auto c = r->client();
    if (!c) return c.error();
    *slot = std::move(*c);
  }
  // Reachable now, or a clear error at start rather than at the first DHCP packet.
  if (auto probe = r->store_client_->get(config.prefix + "/replicas/"); !probe)
    return makeError(probe.error().code, "etcd (server.state.endpoints): " + probe.error().message);
  auto store = std::make_unique<state::EtcdStore>(*r->store_client_, config.prefix);
  r->store_instance_ = store->instance();
  r->store_revisions_ = store->ownRevisions();
  r->store_ = std::move(store);
  r->leases_ = std::make_unique<ha::EtcdLeaseStore>(
      *r->lease_client_,
      ha::LeaseStoreOptions{.prefix = config.prefix, .replica = r->id_, .now = {}});
  return r;
}

Replication::~Replication() {
  live_feed_.reset();
  stopDhcp();
  membership_.reset();  // leaves: the others take this replica's clients at once
}

std::unique_ptr<state::StateStore> Replication::takeStore() {
  return std::move(store_);
}

Result<std::string> Replication::adopt(const std::string& key, const std::string& local) {
  auto created = store_client_->createIfAbsent(key, local);
  if (!created) return created.error();
  if (*created) return local;
  auto shared = store_client_->get(key);
  if (!shared) return shared.error();
  if (!*shared) return makeError("etcd_not_found", key + " vanished");
  return (*shared)->value;
}

Status Replication::shareSecrets(const fs::path& state_dir, const std::string& ca_common_ip) {
  // The CA, as one value so that its certificate and key never come from two replicas.
  const fs::path tls = state_dir / "tls";
  const std::string ca_key = config_.prefix + "/secrets/ca";
  auto shared = store_client_->get(ca_key);
  if (!shared) return shared.error();
  std::string value;
  if (*shared) {
    value = (*shared)->value;
  } else {
    auto files = http::ensureAutoTls(state_dir, {ca_common_ip, "127.0.0.1"});
    if (!files) return files.error();
    auto cert = readWhole(files->ca_cert);
    auto key = readWhole(files->ca_key);
    if (!cert || !key) return makeError("tls_read", "cannot read " + files->ca_cert.string());
    auto won = adopt(ca_key, nlohmann::json{{"cert", *cert}, {"key", *key}}.dump());
    if (!won) return won.error();
    value = *won;
  }
  const auto j = nlohmann::json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("cert") || !j.contains("key") || !j["cert"].is_string() ||
      !j["key"].is_string())
    return makeError("secret_corrupt", ca_key + " is not {\"cert\", \"key\"}");
  std::error_code ec;
  fs::create_directories(tls, ec);
  fs::permissions(tls, fs::perms::owner_all, ec);
  const std::string cert = j["cert"].get<std::string>(), key = j["key"].get<std::string>();
  if (readWhole(tls / "ca.crt") != cert || readWhole(tls / "ca.key") != key) {
    if (auto st = writeFileAtomic(tls / "ca.key", key, 0600); !st) return st;
    if (auto st = writeFileAtomic(tls / "ca.crt", cert, 0644); !st) return st;
    log_->info("HA_CA_ADOPTED key={}", ca_key);  // the server certificate is issued again
  }

  // The operator token.
  const std::string token_key = config_.prefix + "/secrets/operator-token";
  auto token = store_client_->get(token_key);
  if (!token) return token.error();
  std::string shared_token;
  if (*token) {
    shared_token = (*token)->value;
  } else {
    auto local = state::ensureOperatorToken(state_dir);
    if (!local) return local.error();
    auto won = adopt(token_key, *local);
    if (!won) return won.error();
    shared_token = *won;
  }
  if (trimmed(shared_token).empty()) return makeError("secret_corrupt", token_key + " is empty");
  const fs::path token_file = state_dir / "operator.token";
  if (trimmed(readWhole(token_file).value_or("")) != trimmed(shared_token))
    if (auto st = writeFileAtomic(token_file, trimmed(shared_token) + "\n", 0600); !st) return st;
  return {};
}

Status Replication::shareBootTokenKey(const fs::path& state_dir) {
  const std::string key_name = config_.prefix + "/secrets/boot-token-key";
  auto shared = store_client_->get(key_name);
  if (!shared) return shared.error();
  std::string text;
  if (*shared) {
    text = (*shared)->value;
  } else {
    auto local = state::ensureBootTokenKey(state_dir);
    if (!local) return local.error();
    auto won = adopt(key_name, state::bootTokenKeyFileText(*local));
    if (!won) return won.error();
    text = *won;
  }
  if (!state::parseBootTokenKey(text))
    return makeError("secret_corrupt", key_name + " is not a key");
  const fs::path file = state_dir / "boot-token.key";
  if (readWhole(file) != text) {
    if (auto st = writeFileAtomic(file, text, 0600); !st) return st;
    log_->info("HA_BOOT_TOKEN_KEY_ADOPTED key={}", key_name);
  }
  return {};
}

Status Replication::join(ha::ReplicaInfo self, std::function<void()> on_config_differs) {
  {
    std::lock_guard lock(config_mu_);
    config_hash_ = self.config_hash;
    on_config_differs_ = std::move(on_config_differs);
  }
  ha::MembershipOptions o;
  o.prefix = config_.prefix;
  o.self = std::move(self);
  o.ttl_s = config_.replica_ttl.count();
  auto m = ha::Membership::start(*member_client_, *member_watcher_, std::move(o));
  if (!m) return m.error();
  membership_ = std::move(*m);
  membership_->setOnChange(
      [this](const std::vector<ha::ReplicaInfo>& live) { compareConfigs(live); });
  compareConfigs(membership_->live());
  return {};
}

void Replication::compareConfigs(const std::vector<ha::ReplicaInfo>& live) {
  std::function<void()> differs;
  std::string mine;
  {
    std::lock_guard lock(config_mu_);
    mine = config_hash_;
    differs = on_config_differs_;
  }
  for (const auto& r : live) {
    if (r.id == id_ || r.config_hash == mine) continue;
    log_->warn("HA_CONFIG_DIFFERS replica={} theirs={} ours={} (re-reading the declaration)", r.id,
               r.config_hash.substr(0, 12), mine.substr(0, 12));
    if (differs) differs();
    return;
  }
}

void Replication::servingConfig(const std::string& config_hash) {
  bool changed = false;
  {
    std::lock_guard lock(config_mu_);
    changed = config_hash_ != config_hash;
    config_hash_ = config_hash;
  }
  if (!membership_) return;
  if (changed)
    if (auto st = membership_->update(config_hash); !st)
      log_->warn("HA_CONFIG_HASH_UNPUBLISHED error=\"{}\"", st.error().message);
  bool mismatch = false;
  for (const auto& r : membership_->live())
    if (r.id != id_ && r.config_hash != config_hash) {
      mismatch = true;
      log_->error(
          "CONFIG_MISMATCH replica={} theirs={} ours={}: every replica must serve the same "
          "declaration file",
          r.id, r.config_hash.substr(0, 12), config_hash.substr(0, 12));
    }
  mismatch_.store(mismatch ? 1 : 0);
}

void Replication::serveDhcp(dhcp::Engine& engine, boost::asio::io_context& io,
                            dhcp::GroupCommitter& committer) {
  feed_ = std::make_unique<EngineFeed>(engine, io, committer);
  leases_->setListener(feed_.get());
  if (membership_) engine.setResponsibility(membership_.get());
  stop_follow_ = false;
  follower_ = std::thread([this] { leases_->follow(*lease_watcher_, stop_follow_); });
}

void Replication::stopDhcp() {
  stop_follow_ = true;
  if (follower_.joinable()) follower_.join();
  if (leases_) leases_->setListener(nullptr);
}

void Replication::feedLive(std::shared_ptr<LiveEvents> live) {
  live_feed_.reset();
  live_feed_ = std::make_unique<LiveFeed>(*nodes_watcher_, *timeline_watcher_,
                                          LiveFeedOptions{.prefix = config_.prefix,
                                                          .local_instance = store_instance_,
                                                          .local_revisions = store_revisions_},
                                          std::move(live));
}

}  // namespace drover::server
