// The image catalog keeping itself current while `drover serve` runs (docs/images.md,
// "Background updates"): an images::catalog::Updater whose checks and collections act on
// the catalog of the declaration being served (re-read after every reload).
//
//  - Checks: Catalog::check() for each cached url artifact with an update.interval. With
//    the etcd backend every replica schedules every check, but a check is claimed on the
//    artifact's record of the shared index by compare-and-swap, so one replica asks
//    upstream and publishes at a time; the others see the new checked time and wait for the
//    next interval (and fetch a new version's blob from that replica when they need it).
//  - Collection: Catalog::collect() keeps every version that a pending install names: a
//    node in state installing whose record's install_version ("image@<sha256>", written
//    when its plan is rendered) is that version. When the state store cannot be read,
//    nothing is collected.
//
//   GET /v1/images/{image}/events  operator: per artifact, the last and next check, the last
//                                  result and the catalog's events (docs/api.md)
#pragma once

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "boot/snapshot.hpp"
#include "http/message.hpp"
#include "images/catalog/updater.hpp"
#include "server/context.hpp"
#include "state/store.hpp"

namespace drover::server {

class ImageUpdates {
 public:
  // `owner` names this process in check claims: the replica id, else host:pid.
  ImageUpdates(const boot::InventorySource& source, state::StateStore& store, std::string owner);
  ~ImageUpdates();

  void start();
  void stop();
  void reloaded();

 private:
  std::unique_ptr<images::catalog::Updater> updater_;
};

// sha256 (hex) of the versions pending installs name. Code: the store's.
Result<std::set<std::string>> pendingInstallVersions(state::StateStore& store);
// The same, from the state store `config` names, for a command run beside `drover serve`
// (`drover images gc`): the SQLite database in `state_dir` (none yet: no versions), or
// etcd at server.state.endpoints.
Result<std::set<std::string>> pendingInstallVersions(const cluster::Config& config,
                                                     const std::filesystem::path& state_dir);

// "image@<sha256 hex>": what a node's install_version holds once its plan is rendered.
std::string installVersion(const std::string& image, const std::string& sha256_hex);

http::Response imageEvents(Context& ctx, const std::string& image);

}  // namespace drover::server
