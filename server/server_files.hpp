// Files named by the declaration (image artifacts, iPXE loaders), opened for the HTTP
// server without following symlinks out of their directory; url-declared image artifacts
// come from the image catalog under the state directory (fetched on first use).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/config.hpp"
#include "common/result.hpp"
#include "common/values.hpp"
#include "http/message.hpp"
#include "images/catalog/catalog.hpp"

#include <nlohmann/json.hpp>

namespace drover::server {

// Opens a file the operator declared (absolute: the loader resolved relative paths against
// the declaration's folder). The ETag is `checksum` when given.
Result<http::FileBody> openDeclaredFile(const std::string& path, std::string_view checksum = {});

// Whether `name` is one of the loaders the declaration hands to firmware.
bool isLoaderName(const cluster::Config& config, std::string_view name);

// A loader from the TFTP root, else from Debian's /usr/lib/ipxe; the network GRUB
// (boot::kGrubEfiName) from server.boot.grub_efi.
Result<http::FileBody> openLoader(const cluster::Config& config, const std::string& name);

// --- the image catalog ---------------------------------------------------------------------

// The state directory when none is given: the directory of server.state.path.
std::filesystem::path defaultStateDir(const cluster::Config& config);

// Catalog settings for a declaration: <state dir>/images, the trusted keys; with
// server.state.backend etcd, the index and sidecars in etcd (one client per endpoints and
// prefix, shared by every catalog of the process), so every replica and every
// `drover images` command sees one catalog.

images::catalog::Options catalogOptions(const cluster::Config& config,
                                        const std::filesystem::path& state_dir);

// The catalog's view of the url-declared artifacts (path-declared ones are not cached).
std::vector<images::catalog::ArtifactSpec> catalogSpecs(const cluster::Config& config);

// One row of an image listing (`drover images list`, the dashboard's Images page).
struct ImageRow {
  const std::string& image;
  const std::string& kind;
  const cluster::Artifact* artifact;      // null: no longer declared
  const images::store::Version* version;  // null: a local file, or nothing cached
  bool current = false;
};
// The rows in order: every declared artifact of every image (one declared by url: a row per
// cached version, or one without a version when none is), then the cached versions of
// artifacts no longer declared.
void forEachImageRow(const cluster::Config& config, const images::store::IndexData& index,
                     const std::function<void(const ImageRow&)>& visit);
// What an image listing says of a row: image, kind, source, and of a cached version its
// sha256, size, fetched_ms, used_ms, pinned and current.
nlohmann::json imageRowJson(const ImageRow& row, std::string_view source);
std::optional<images::catalog::ArtifactSpec> catalogSpec(const cluster::Config& config,
                                                         const std::string& image,
                                                         std::string_view kind);

// The catalog `drover serve` uses: under the state directory given here (the serve App
// sets it at start-up), else defaultStateDir(config). One instance per store and key set,
// shared by every request so concurrent uses share one download.
void setImageStateDir(const std::filesystem::path& state_dir);
// This process is replica `id` (etcd backend): it records the blobs it holds, and fetches
// those it lacks from the live replica `peer_url(id)` names (its http:// base URL, "" when
// that replica is not alive). Set before the first serveCatalog(); empty `id` undoes it.
void setImageReplica(const std::string& id,
                     std::function<std::string(const std::string&)> peer_url);
images::catalog::Catalog& serveCatalog(const cluster::Config& config);
// While on, serveCatalog()'s catalogs leave update checks to the background updater
// (server/image_updates.hpp): a use never waits on upstream.
void setImageChecksInBackground(bool on);

// The artifact `kind` (kernel, initrd, disk) of `image`: the declared path, or the
// catalog's blob of the current version, fetched now when not cached (or, with `version`,
// that cached version only). The ETag is the sha256. Codes: not_found, and the catalog's.
Result<http::FileBody> openImageArtifact(const cluster::Config& config, const cluster::Image& image,
                                         std::string_view kind,
                                         const std::optional<Sha256>& version = {});

// The same artifact's file on disk (for the TFTP server): the declared path, or the
// catalog's blob of the current version, fetched now when not cached.
Result<std::filesystem::path> imageArtifactPath(const cluster::Config& config,
                                                const cluster::Image& image, std::string_view kind);

}  // namespace drover::server
