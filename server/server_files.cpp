#include "server/server_files.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "boot/decision.hpp"
#include "boot/server_configs.hpp"
#include "http/static_files.hpp"
#include "images/shared/etcd_metadata.hpp"

namespace drover::server {

Result<http::FileBody> openDeclaredFile(const std::string& path, std::string_view checksum) {
  const std::filesystem::path p(path);
  auto root = http::StaticRoot::open(p.parent_path());
  if (!root) return root.error();
  return root->openFile(p.filename().string(), checksum);
}

bool isLoaderName(const cluster::Config& config, std::string_view name) {
  const auto& b = config.server.boot;
  if (name.empty()) return false;
  if (name == b.bios_loader || name == b.efi_loader || name == b.arm64_loader) return true;
  if (name == boot::kGrubEfiName) return !b.grub_efi.empty();
  return name == "ipxe.efi" || name == "snponly.efi";
}

Result<http::FileBody> openLoader(const cluster::Config& config, const std::string& name) {
  if (name == boot::kGrubEfiName) {
    // The declared file itself (a system file: resolve its symlinks, then open it).
    std::error_code ec;
    const auto real = std::filesystem::canonical(config.server.boot.grub_efi, ec);
    if (ec)
      return makeError("not_found", "server.boot.grub_efi: " + config.server.boot.grub_efi + ": " +
                                        ec.message());
    auto dir = http::StaticRoot::open(real.parent_path());
    if (!dir) return dir.error();
    return dir->openFile(real.filename().string());
  }
  if (auto root = http::StaticRoot::open(config.server.tftp.root); root) {
    if (auto file = root->openFile(name); file) return file;
  }
  // Debian's directory is a system one whose entries may be symlinks (ipxe.efi points to
  // /boot/ipxe.efi): resolve it, then open the real file. `name` is one of the loader
  // names the declaration hands out, never a path from the request.
  std::error_code ec;
  const auto real = std::filesystem::canonical(std::filesystem::path(boot::kIpxeDir) / name, ec);
  if (!ec) {
    if (auto dir = http::StaticRoot::open(real.parent_path()); dir) {
      if (auto file = dir->openFile(real.filename().string()); file) return file;
    }
  }
  return makeError("not_found",
                   "no such loader in the TFTP root or " + std::string(boot::kIpxeDir));
}

}  // namespace drover::server

// --- the image catalog ---------------------------------------------------------------------
namespace drover::server {
namespace {

std::mutex g_catalog_mu;
std::filesystem::path g_state_dir;
std::map<std::string, std::unique_ptr<images::catalog::Catalog>> g_catalogs;
std::string g_replica_id;
bool g_background_checks = false;
std::function<std::string(const std::string&)> g_peer_url;

std::shared_ptr<images::store::Metadata> sharedMetadata(const cluster::StateConfig& state) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<images::store::Metadata>> made;
  std::string key = state.prefix + "|" + state.ca_file;
  for (const auto& e : state.endpoints) key += "|" + e;
  std::lock_guard lock(mu);
  auto& slot = made[key];
  if (!slot) {
    etcd::Options o;
    o.ca_file = state.ca_file;
    auto client = etcd::Client::create(state.endpoints, o);
    if (!client) return nullptr;  // no endpoints: the loader refuses that declaration first
    slot = std::make_shared<images::shared::EtcdMetadata>(
        std::make_shared<etcd::Client>(std::move(*client)), state.prefix);
  }
  return slot;
}

const std::optional<cluster::Artifact>* artifactOf(const cluster::Image& image,
                                                   std::string_view kind) {
  if (kind == "kernel") return &image.kernel;
  if (kind == "initrd") return &image.initrd;
  if (kind == "disk") return &image.disk;
  return nullptr;
}

images::catalog::ArtifactSpec specOf(const cluster::Image& image, std::string_view kind,
                                     const cluster::Artifact& a) {
  images::catalog::ArtifactSpec s;
  s.image = image.name;
  s.kind = std::string(kind);
  s.url = a.url ? a.url->str() : std::string();
  s.sha256 = a.sha256;
  if (a.signature) {
    s.signature =
        images::catalog::SignatureSpec{a.signature->url ? a.signature->url->str() : std::string(),
                                       a.signature->path, a.signature->key.value};
  }
  s.interval = image.update.interval;
  s.expire = image.update.expire;
  return s;
}

}  // namespace

std::filesystem::path defaultStateDir(const cluster::Config& config) {
  return std::filesystem::path(config.server.state.path).parent_path();
}

images::catalog::Options catalogOptions(const cluster::Config& config,
                                        const std::filesystem::path& state_dir) {
  images::catalog::Options o;
  o.root = state_dir / "images";
  for (const auto& [name, path] : config.trust.keys) o.trust_keys.emplace(name, path.value);
  if (config.server.state.backend == cluster::StateBackend::Etcd)
    o.metadata = sharedMetadata(config.server.state);
  return o;
}

std::vector<images::catalog::ArtifactSpec> catalogSpecs(const cluster::Config& config) {
  std::vector<images::catalog::ArtifactSpec> out;
  for (const auto& [name, image] : config.images)
    for (std::string_view kind : {"kernel", "initrd", "disk"})
      if (auto s = catalogSpec(config, name, kind)) out.push_back(std::move(*s));
  return out;
}

void forEachImageRow(const cluster::Config& config, const images::store::IndexData& index,
                     const std::function<void(const ImageRow&)>& visit) {
  static const std::string kKinds[] = {"kernel", "initrd", "disk"};
  for (const auto& [name, image] : config.images) {
    for (const auto& kind : kKinds) {
      const auto& a = *artifactOf(image, kind);
      if (!a) continue;
      const auto* e = a->url ? index.find(name, kind) : nullptr;
      if (e == nullptr || e->versions.empty()) {
        visit({name, kind, &*a, nullptr, !a->url});
        continue;
      }
      for (const auto& v : e->versions) visit({name, kind, &*a, &v, &v == e->current()});
    }
  }
  for (const auto& [key, e] : index.entries)
    if (!catalogSpec(config, e.image, e.kind))
      for (const auto& v : e.versions) visit({e.image, e.kind, nullptr, &v, &v == e.current()});
}

nlohmann::json imageRowJson(const ImageRow& row, std::string_view source) {
  nlohmann::json r = {{"image", row.image}, {"kind", row.kind}, {"source", source}};
  if (const auto* v = row.version) {
    r.update({{"sha256", v->sha256.hex()},
              {"size", v->size},
              {"fetched_ms", v->fetched_ms},
              {"used_ms", v->used_ms},
              {"pinned", v->pinned},
              {"current", row.current}});
  }
  return r;
}

std::optional<images::catalog::ArtifactSpec> catalogSpec(const cluster::Config& config,
                                                         const std::string& image,
                                                         std::string_view kind) {
  const cluster::Image* img = config.findImage(image);
  if (img == nullptr) return std::nullopt;
  const auto* a = artifactOf(*img, kind);
  if (a == nullptr || !*a || !(*a)->url) return std::nullopt;
  return specOf(*img, kind, **a);
}

void setImageStateDir(const std::filesystem::path& state_dir) {
  std::lock_guard lock(g_catalog_mu);
  g_state_dir = state_dir;
}

void setImageChecksInBackground(bool on) {
  std::lock_guard lock(g_catalog_mu);
  g_background_checks = on;
}

void setImageReplica(const std::string& id,
                     std::function<std::string(const std::string&)> peer_url) {
  std::lock_guard lock(g_catalog_mu);
  g_replica_id = id;
  g_peer_url = std::move(peer_url);
}

images::catalog::Catalog& serveCatalog(const cluster::Config& config) {
  std::lock_guard lock(g_catalog_mu);
  auto options =
      catalogOptions(config, g_state_dir.empty() ? defaultStateDir(config) : g_state_dir);
  if (options.metadata) {
    options.replica_id = g_replica_id;
    // Whatever the serving App set last (it unsets it when it goes).
    options.peer_url = [](const std::string& id) -> std::string {
      std::function<std::string(const std::string&)> peer_url;
      {
        std::lock_guard inner(g_catalog_mu);
        peer_url = g_peer_url;
      }
      return peer_url ? peer_url(id) : std::string();
    };
  }
  std::string key =
      options.root.string() + "|" + (options.metadata ? "etcd:" + g_replica_id : "file");
  for (const auto& [name, path] : options.trust_keys) key += "|" + name + "=" + path.string();
  auto& slot = g_catalogs[key];
  if (!slot) {
    slot = std::make_unique<images::catalog::Catalog>(options);
    (void)slot->init();
  }
  slot->setCheckOnUse(!g_background_checks);
  return *slot;
}

Result<std::filesystem::path> imageArtifactPath(const cluster::Config& config,
                                                const cluster::Image& image,
                                                std::string_view kind) {
  const auto* a = artifactOf(image, kind);
  if (a == nullptr || !*a) return makeError("not_found", "the image has no " + std::string(kind));
  const auto& artifact = **a;
  if (!artifact.path.empty()) return std::filesystem::path(artifact.path);
  auto blob = serveCatalog(config).ensure(specOf(image, kind, artifact));
  if (!blob) return blob.error();
  return blob->path;
}

Result<http::FileBody> openImageArtifact(const cluster::Config& config, const cluster::Image& image,
                                         std::string_view kind,
                                         const std::optional<Sha256>& version) {
  const auto* a = artifactOf(image, kind);
  if (a == nullptr || !*a) return makeError("not_found", "the image has no " + std::string(kind));
  const auto& artifact = **a;
  if (!artifact.path.empty()) {
    if (version && artifact.sha256 && *version != *artifact.sha256)
      return makeError("not_found", "that version is not the declared file");
    return openDeclaredFile(artifact.path,
                            artifact.sha256 ? artifact.sha256->hex() : std::string());
  }
  auto& catalog = serveCatalog(config);
  auto blob = version ? catalog.version(image.name, std::string(kind), *version)
                      : catalog.ensure(specOf(image, kind, artifact));
  if (!blob && version && artifact.sha256 &&
      *version == *artifact.sha256)  // declared, not yet cached
    blob = catalog.ensure(specOf(image, kind, artifact));
  if (!blob) return blob.error();
  return openDeclaredFile(blob->path.string(), blob->sha256.hex());
}

}  // namespace drover::server
