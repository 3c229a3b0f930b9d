#include "server/image_updates.hpp"

#include <nlohmann/json.hpp>

#include "server/server_files.hpp"
#include "state/etcd/store.hpp"
#include "state/sqlite_store.hpp"

namespace drover::server {

namespace {

using http::Response;
using HttpStatus = http::Status;
using nlohmann::json;
namespace catalog = images::catalog;

}  // namespace

std::string installVersion(const std::string& image, const std::string& sha256_hex) {
  return image + "@" + sha256_hex;
}

Result<std::set<std::string>> pendingInstallVersions(state::StateStore& store) {
  auto nodes = store.listNodes();
  if (!nodes) return nodes.error();
  std::set<std::string> out;
  for (const auto& n : *nodes) {
    if (n.status.state != state::NodeState::kInstalling) continue;
    const auto at = n.install_version.rfind('@');
    if (at != std::string::npos) out.insert(n.install_version.substr(at + 1));
  }
  return out;
}

Result<std::set<std::string>> pendingInstallVersions(const cluster::Config& config,
                                                     const std::filesystem::path& state_dir) {
  const auto& state = config.server.state;
  if (state.backend == cluster::StateBackend::Etcd) {
    etcd::Options o;
    o.ca_file = state.ca_file;
    auto client = etcd::Client::create(state.endpoints, o);
    if (!client) return client.error();
    state::EtcdStore store(std::make_shared<etcd::Client>(std::move(*client)), state.prefix);
    return pendingInstallVersions(store);
  }
  const auto db = state_dir / std::filesystem::path(state.path).filename();
  std::error_code ec;
  if (!std::filesystem::exists(db, ec)) return std::set<std::string>{};
  auto store = state::SqliteStore::open(db);
  if (!store) return store.error();
  return pendingInstallVersions(**store);
}

ImageUpdates::ImageUpdates(const boot::InventorySource& source, state::StateStore& store,
                           std::string owner) {
  catalog::UpdaterHooks hooks;
  // Each hook holds the snapshot it reads: a reload may replace it meanwhile.
  hooks.specs = [&source] {
    auto snapshot = source.current();
    return catalogSpecs(snapshot->inventory.config());
  };
  hooks.index = [&source] {
    auto snapshot = source.current();
    return serveCatalog(snapshot->inventory.config()).list();
  };
  hooks.check = [&source, owner](const catalog::Task& task) {
    auto snapshot = source.current();
    catalog::CheckOptions options;
    options.owner = owner;
    options.claim_for = std::chrono::minutes(15);  // a replica that died mid-check
    options.jitter_ms = task.jitter_ms;
    options.cancel = task.cancel;
    return serveCatalog(snapshot->inventory.config()).check(task.spec, options);
  };
  hooks.collect = [&source, &store](const std::vector<catalog::ArtifactSpec>& specs) -> Status {
    auto keep = pendingInstallVersions(store);
    if (!keep) return keep.error();  // never collect without knowing what installs use
    auto snapshot = source.current();
    auto r = serveCatalog(snapshot->inventory.config()).collect(specs, *keep);
    if (!r) return r.error();
    return Status::success();
  };
  updater_ = std::make_unique<catalog::Updater>(catalog::ScheduleOptions{}, std::move(hooks));
}

ImageUpdates::~ImageUpdates() {
  stop();
}

void ImageUpdates::start() {
  setImageChecksInBackground(true);
  updater_->start();
}

void ImageUpdates::stop() {
  updater_->stop();
  setImageChecksInBackground(false);
}

void ImageUpdates::reloaded() {
  updater_->wake();
}

Response imageEvents(Context& ctx, const std::string& image) {
  auto snapshot = ctx.source.current();
  const auto& config = snapshot->inventory.config();
  auto index = serveCatalog(config).list();
  if (!index)
    return Response::error(HttpStatus::internal_server_error, "catalog_error",
                           index.error().message);
  const cluster::Image* declared = config.findImage(image);
  json artifacts = json::array();
  for (const auto& [key, e] : index->entries) {
    if (e.image != image) continue;
    auto spec = catalogSpec(config, e.image, e.kind);
    json events = json::array();
    for (const auto& ev : e.events) {
      json j{{"ts", ev.ts_ms}, {"event", ev.event}};
      if (!ev.sha256.empty()) j["sha256"] = ev.sha256;
      if (!ev.detail.empty()) j["detail"] = ev.detail;
      if (ev.count != 1) {
        j["count"] = ev.count;
        j["first_ts"] = ev.first_ms;
      }
      events.push_back(std::move(j));
    }
    json versions = json::array();
    for (const auto& v : e.versions) versions.push_back(v.sha256.hex());
    artifacts.push_back({{"kind", e.kind},
                         {"interval_s", spec ? spec->interval.count() : 0},
                         {"expire_s", spec ? spec->expire.count() : 0},
                         {"checked_ms", e.checked_ms},
                         {"next_check_ms", e.next_check_ms},
                         {"last_result", e.last_result},
                         {"last_error", e.last_error},
                         {"current", e.current() ? e.current()->sha256.hex() : ""},
                         {"versions", versions},
                         {"events", events}});
  }
  if (declared == nullptr && artifacts.empty())
    return Response::error(HttpStatus::not_found, "not_found", "no such image");
  return Response::json(HttpStatus::ok, json{{"image", image}, {"artifacts", artifacts}}.dump());
}

}  // namespace drover::server
