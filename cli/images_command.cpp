// drover images list | pull | verify | rm | gc | capture | import-oci | build: the image
// catalog under the state directory (docs/images.md); the options are in images_options.cpp. Works
// beside a running `drover serve`: both lock the index. `capture` asks the running server, through
// its operator API, to capture a node's disk.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/api_client.hpp"
#include "cli/commands.hpp"
#include "cli/made_images.hpp"
#include "cluster/loader.hpp"
#include "common/fd.hpp"
#include "images/catalog/catalog.hpp"
#include "images/fetch/fetcher.hpp"
#include "images/oci/oci_import.hpp"
#include "images/registry/registry.hpp"
#include "images/store/blob_store.hpp"
#include "images/verify/signature.hpp"
#include "server/image_updates.hpp"
#include "server/server_files.hpp"

namespace drover::cli {
namespace {

using images::catalog::Catalog;
using nlohmann::json;

struct Loaded {
  std::shared_ptr<const cluster::Config> config;
  std::unique_ptr<Catalog> catalog;
};

// The declaration and the catalog it names; reports and returns nothing on failure.
std::optional<Loaded> open(const ImagesTarget& t, std::ostream& err, bool progress = false) {
  auto r = cluster::loadConfigFile(t.config);
  if (!r.ok()) {
    for (const auto& e : r.errors) err << e.str() << '\n';
    return std::nullopt;
  }
  const auto dir =
      t.state_dir.empty() ? server::defaultStateDir(*r.config) : std::filesystem::path(t.state_dir);
  auto options = server::catalogOptions(*r.config, dir);
  if (progress) options.progress = stderr;
  Loaded l{r.config, std::make_unique<Catalog>(options)};
  if (auto st = l.catalog->init(); !st) {
    err << "drover images: " << st.error().message << '\n';
    return std::nullopt;
  }
  return l;
}

std::string human(std::uint64_t bytes) {
  return images::fetch::humanBytes(bytes);
}

std::string ago(std::int64_t ms) {
  return ms > 0 ? formatAge(nowMs() - ms) + " ago" : "-";
}

std::filesystem::path stateDir(const ImagesTarget& t, const cluster::Config& config) {
  return t.state_dir.empty() ? server::defaultStateDir(config) : std::filesystem::path(t.state_dir);
}

// NAME becomes a directory under <state dir>/images/oci.
bool validName(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && !name.starts_with('.');
}

// What import-oci, pull NAME REF and build hand to importOci.
struct ImportJob {
  std::string_view command;  // for messages and the made record
  std::string name;
  std::filesystem::path source;  // the layout or archive
  std::string origin;            // what the operator named: a path or a reference
  bool disk = true;
  const images::oci::BootOptions* boot = nullptr;
  std::filesystem::path work{};  // empty: a scratch directory of the catalog's
};

// An OCI layout or archive into <state dir>/images/oci/NAME (rootfs.tar, disk.raw and the
// made record), reported.
int importOci(const Loaded& l, const ImagesTarget& t, const ImportJob& job, std::ostream& out,
              std::ostream& err) {
  const auto& name = job.name;
  if (!validName(name)) {
    err << fmt::format("drover images {}: \"{}\" is not an image name (no '/', no leading '.')\n",
                       job.command, name);
    return 1;
  }
  const auto dir = stateDir(t, *l.config) / "images" / "oci" / name;
  const auto scratch = l.catalog->blobs().tmpDir() / ("oci-" + name);
  const auto work = job.work.empty() ? scratch : job.work;
  auto r = images::oci::importImage(job.source, dir, work, job.disk, job.boot);
  std::error_code ec;
  std::filesystem::remove_all(job.work.empty() ? scratch : job.work.parent_path(), ec);
  if (!r) {
    err << fmt::format("drover images {}: {} ({})\n", job.command, r.error().message,
                       r.error().code);
    return 1;
  }
  json made = {{"made_by", job.command},
               {"source", job.origin},
               {"layers", r->layers},
               {"rootfs_sha256", r->rootfs_sha256.hex()},
               {"made_ms", nowMs()}};
  out << fmt::format("{}: {} layers -> {} (sha256 {})\n", name, r->layers, r->rootfs_tar.string(),
                     r->rootfs_sha256.hex());
  if (r->boot) {
    out << fmt::format(
        "{}: disk that boots (GPT: ESP with syslinux for BIOS and shim + GRUB for UEFI, ext4 root "
        "UUID={}, ESP UUID={}), kernel {} -> {} (sha256 {})\n{}: kernel command line: {}\n",
        name, r->boot->root_uuid, r->boot->esp_serial, r->boot->kernel.version,
        r->disk_raw.string(), r->disk_sha256.hex(), name, r->boot->cmdline);
    made["kernel"] = r->boot->kernel.version;
    made["root_uuid"] = r->boot->root_uuid;
    made["esp_uuid"] = r->boot->esp_serial;
    made["cmdline"] = r->boot->cmdline;
  } else if (job.disk) {
    out << fmt::format("{}: raw disk (GPT, ext4) -> {} (sha256 {})\n", name, r->disk_raw.string(),
                       r->disk_sha256.hex());
  }
  if (job.disk) {
    made["disk_sha256"] = r->disk_sha256.hex();
    made["disk_size"] = std::filesystem::file_size(r->disk_raw, ec);
    out << fmt::format("declare it as:\n  {}:\n    disk: {{ path: {}, sha256: {} }}\n", name,
                       r->disk_raw.string(), r->disk_sha256.hex());
  }
  if (auto st = writeFileAtomic(dir / kMadeRecord, made.dump(2) + "\n", 0644); !st)
    err << fmt::format("drover images {}: {} (the image is made; `images list` will not show it)\n",
                       job.command, st.error().message);
  return 0;
}

constexpr std::string_view kCaptureSource = "capture://";

}  // namespace

int runImagesList(const ImagesTarget& t, bool as_json, std::ostream& out, std::ostream& err) {
  auto l = open(t, err);
  if (!l) return 1;
  auto index = l->catalog->list();
  if (!index) {
    err << "drover images: " << index.error().message << '\n';
    return 1;
  }
  json rows = json::array();
  auto row = [&](const server::ImageRow& ir, std::string_view source) {
    json r = server::imageRowJson(ir, source);
    if (const auto* v = ir.version) {
      if (v->url.starts_with(kCaptureSource)) {  // a node's disk, captured (docs/images.md)
        r["source"] = "captured";
        r["node"] = v->url.substr(kCaptureSource.size());
        if (auto meta = l->catalog->metadataOf(v->sha256)) {
          auto m = json::parse(*meta, nullptr, false);
          if (m.is_object()) {
            r["raw_sha256"] = m.value("raw_sha256", "");
            r["raw_size"] = m.value("raw_size", std::uint64_t{0});
          }
        }
      }
    }
    rows.push_back(r);
  };
  server::forEachImageRow(*l->config, *index, [&](const server::ImageRow& r) {
    const char* source = r.artifact == nullptr  ? "undeclared"
                         : !r.artifact->url     ? "local"
                         : r.version != nullptr ? "cached"
                                                : "not cached";
    row(r, source);
  });

  // Background update checks (drover serve): the last, its result, the next, the versions.
  json checks = json::array();
  for (const auto& spec : server::catalogSpecs(*l->config)) {
    const auto* e = index->find(spec.image, spec.kind);
    if (spec.interval.count() == 0 && (e == nullptr || e->last_result.empty())) continue;
    json c = {{"image", spec.image},
              {"kind", spec.kind},
              {"interval_s", spec.interval.count()},
              {"checked_ms", e ? e->checked_ms : 0},
              {"next_check_ms", e ? e->next_check_ms : 0},
              {"last_result", e ? e->last_result : ""},
              {"last_error", e ? e->last_error : ""},
              {"versions", e ? e->versions.size() : 0}};
    checks.push_back(std::move(c));
  }

  const json made = listMadeImages(stateDir(t, *l->config), *l->config);

  if (as_json) {
    out << json{{"images", rows}, {"checks", checks}, {"made", made}}.dump(2) << '\n';
    return 0;
  }
  out << fmt::format("{:<20} {:<7} {:<11} {:<13} {:>8} {:<14} {:<14} {}\n", "IMAGE", "KIND",
                     "SOURCE", "VERSION", "SIZE", "FETCHED", "USED", "PINNED");
  for (const auto& r : rows) {
    const bool has = r.contains("sha256");
    std::string version =
        has ? r["sha256"].get<std::string>().substr(0, 12) + (r["current"] ? "*" : "") : "-";
    out << fmt::format("{:<20} {:<7} {:<11} {:<13} {:>8} {:<14} {:<14} {}\n",
                       r["image"].get<std::string>(), r["kind"].get<std::string>(),
                       r["source"].get<std::string>(), version, has ? human(r["size"]) : "-",
                       has ? ago(r["fetched_ms"]) : "-", has ? ago(r["used_ms"]) : "-",
                       has && r["pinned"] ? "yes" : "");
  }
  if (!made.empty()) {
    out << fmt::format("\n{:<20} {:<10} {:<13} {:>8} {:<14} {:<16} {}\n", "MADE HERE", "BY", "DISK",
                       "SIZE", "MADE", "DECLARED AS", "FROM");
    for (const auto& m : made) {
      const std::string disk = m.value("disk_sha256", "");
      std::string declared;
      for (const auto& d : m["declared_as"])
        declared += (declared.empty() ? "" : ",") + d.get<std::string>();
      out << fmt::format("{:<20} {:<10} {:<13} {:>8} {:<14} {:<16} {}\n",
                         m["name"].get<std::string>(), m.value("made_by", "?"),
                         disk.empty() ? "-" : disk.substr(0, 12),
                         disk.empty() ? "-" : human(m.value("disk_size", std::uint64_t{0})),
                         ago(m.value("made_ms", std::int64_t{0})),
                         declared.empty() ? "-" : declared, m.value("source", ""));
    }
  }
  if (checks.empty()) return 0;
  out << fmt::format("\n{:<20} {:<7} {:<14} {:<10} {:<14} {:>8}  {}\n", "IMAGE", "KIND",
                     "LAST CHECK", "RESULT", "NEXT CHECK", "VERSIONS", "ERROR");
  for (const auto& c : checks) {
    const std::int64_t next = c["next_check_ms"];
    const std::string result = c["last_result"];
    out << fmt::format("{:<20} {:<7} {:<14} {:<10} {:<14} {:>8}  {}\n",
                       c["image"].get<std::string>(), c["kind"].get<std::string>(),
                       ago(c["checked_ms"]), result.empty() ? "-" : result,
                       next == 0         ? "-"
                       : next <= nowMs() ? "due"
                                         : "in " + formatAge(next - nowMs()),
                       c["versions"].get<std::size_t>(), c["last_error"].get<std::string>());
  }
  return 0;
}

int runImagesPull(const ImagesTarget& t, const std::string& image, std::ostream& out,
                  std::ostream& err) {
  auto l = open(t, err, ::isatty(STDERR_FILENO) != 0 || t.progress);
  if (!l) return 1;
  if (l->config->findImage(image) == nullptr) {
    err << "drover images pull: no image \"" << image << "\" in " << t.config << '\n';
    return 1;
  }
  int failed = 0, pulled = 0;
  for (const char* kind : {"kernel", "initrd", "disk"}) {
    auto spec = server::catalogSpec(*l->config, image, kind);
    if (!spec) continue;
    ++pulled;
    auto r = l->catalog->ensure(*spec, images::catalog::Mode::Pull);
    if (!r) {
      err << fmt::format("{}/{}: {} ({})\n", image, kind, r.error().message, r.error().code);
      ++failed;
      continue;
    }
    out << fmt::format("{}/{}: {} {} {}, pinned\n", image, kind,
                       r->fetched ? "pulled" : "already cached", r->sha256.hex().substr(0, 12),
                       human(r->size));
  }
  if (pulled == 0) out << image << ": nothing to pull (every file is a local path)\n";
  return failed == 0 ? 0 : 1;
}

int runImagesVerify(const ImagesTarget& t, std::ostream& out, std::ostream& err) {
  auto l = open(t, err);
  if (!l) return 1;
  int bad = 0;
  for (const auto& row : l->catalog->verifyAll()) {
    out << fmt::format("{}: {}\n", row.what, row.status ? "ok" : row.status.error().message);
    if (!row.status) ++bad;
  }
  // Local files are checked against what the declaration says about them.
  for (const auto& [name, image] : l->config->images) {
    for (const auto& [kind, a] :
         {std::pair{"kernel", &image.kernel}, {"initrd", &image.initrd}, {"disk", &image.disk}}) {
      if (!*a || (*a)->path.empty() || (!(*a)->sha256 && !(*a)->signature)) continue;
      images::verify::FileCheck check;
      if ((*a)->sha256) check.expected = &*(*a)->sha256;
      std::optional<images::verify::PublicKey> key;
      std::vector<std::uint8_t> sig;
      Status st;
      if (const auto& s = (*a)->signature) {
        auto k = images::verify::PublicKey::load(l->config->trust.keys.at(s->key.value).value);
        auto text = s->path.empty()
                        ? Result<std::string>(makeError("signature_unavailable",
                                                        "a local file's signature must be a path"))
                        : images::verify::readSmallFile(s->path);
        if (!k)
          st = k.error();
        else if (!text)
          st = text.error();
        else if (auto b = images::verify::decodeSignature(*text); !b)
          st = b.error();
        else {
          key = std::move(*k);
          sig = std::move(*b);
          check.key = &*key;
          check.signature = sig;
        }
      }
      if (st) {
        auto r = images::verify::checkFile((*a)->path, check);
        if (!r) st = r.error();
      }
      out << fmt::format("{}/{} (local {}): {}\n", name, kind, (*a)->path,
                         st ? "ok" : st.error().message);
      if (!st) ++bad;
    }
  }
  if (bad > 0) err << fmt::format("drover images verify: {} failed\n", bad);
  return bad == 0 ? 0 : 1;
}

int runImagesRm(const ImagesTarget& t, const std::string& image, std::ostream& out,
                std::ostream& err) {
  auto l = open(t, err);
  if (!l) return 1;
  auto r = l->catalog->remove(image);
  if (!r) {
    err << "drover images rm: " << r.error().message << '\n';
    return 1;
  }
  if (r->removed.empty()) {
    err << "drover images rm: nothing cached for \"" << image << "\"\n";
    return 1;
  }
  for (const auto& v : r->removed) out << "removed " << v << '\n';
  out << fmt::format("{} blob(s), {} freed\n", r->blobs_removed, human(r->bytes_freed));
  return 0;
}

int runImagesGc(const ImagesTarget& t, std::ostream& out, std::ostream& err) {
  auto l = open(t, err);
  if (!l) return 1;
  // A version a node is being installed from stays, like in the background collection.
  const auto dir = t.state_dir.empty() ? server::defaultStateDir(*l->config)
                                       : std::filesystem::path(t.state_dir);
  auto keep = server::pendingInstallVersions(*l->config, dir);
  if (!keep) {
    err << "drover images gc: cannot tell which versions installs in progress use: "
        << keep.error().message << '\n';
    return 1;
  }
  auto r = l->catalog->gc(server::catalogSpecs(*l->config), *keep);
  if (!r) {
    err << "drover images gc: " << r.error().message << '\n';
    return 1;
  }
  for (const auto& v : r->removed) out << "removed " << v << '\n';
  out << fmt::format("{} version(s), {} blob(s), {} freed\n", r->removed.size(), r->blobs_removed,
                     human(r->bytes_freed));
  return 0;
}

int runImagesImportOci(const ImagesTarget& t, const std::string& name, const std::string& source,
                       bool disk, std::ostream& out, std::ostream& err) {
  auto l = open(t, err);
  if (!l) return 1;
  return importOci(*l, t, {"import-oci", name, source, source, disk}, out, err);
}

int runImagesPullRegistry(const ImagesTarget& t, const std::string& name, const std::string& ref,
                          const RegistryFlags& f, std::ostream& out, std::ostream& err) {
  namespace registry = images::registry;
  const std::string_view cmd = f.boot ? "build" : "pull";
  auto parsed = registry::parseReference(ref);
  if (!parsed) {
    err << fmt::format("drover images {}: {} ({})\n", cmd, parsed.error().message,
                       parsed.error().code);
    return 1;
  }
  if (f.plain_http && f.insecure_tls) {
    err << "drover images " << cmd << ": --plain-http and --insecure-tls exclude each other\n";
    return 1;
  }
  if (!validName(name)) {
    err << fmt::format("drover images {}: \"{}\" is not an image name (no '/', no leading '.')\n",
                       cmd, name);
    return 1;
  }
  auto l = open(t, err);
  if (!l) return 1;
  const auto state = stateDir(t, *l->config);
  registry::Options o;
  o.architecture = f.arch;
  o.variant = f.variant;
  o.ca_file = f.ca_file;
  o.plain_http = f.plain_http;
  o.insecure_tls = f.insecure_tls;
  if (::isatty(STDERR_FILENO) != 0 || t.progress) o.progress = stderr;
  auto creds = registry::lookupCredentials(state, parsed->registry);
  if (!creds) {
    err << fmt::format("drover images {}: {} ({})\n", cmd, creds.error().message,
                       creds.error().code);
    return 1;
  }
  o.credentials = *creds;
  images::store::BlobStore store(state / "images" / "registry");
  const auto work = l->catalog->blobs().tmpDir() / ("registry-" + name);
  const auto layout = work / "pulled";
  auto r = registry::pull(*parsed, o, store, layout);
  if (!r) {
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    err << fmt::format("drover images {}: {}: {} ({})\n", cmd, parsed->str(), r.error().message,
                       r.error().code);
    return 1;
  }
  out << fmt::format(
      "{}: {} {} manifest sha256:{}, {} layers: {} blob(s) fetched ({}{}), {} "
      "already stored\n",
      name, parsed->str(), r->platform, r->manifest_digest.hex(), r->layers, r->blobs_fetched,
      human(r->bytes_fetched), r->resumes > 0 ? fmt::format(", {} resumed", r->resumes) : "",
      r->blobs_cached);
  return importOci(*l, t, {cmd, name, layout, parsed->str(), f.disk, f.boot, work / "import"}, out,
                   err);
}

int runImagesBuild(const ImagesTarget& t, const std::string& name, const BuildFlags& f,
                   std::ostream& out, std::ostream& err) {
  images::oci::BootOptions boot;
  if (f.cmdline) boot.cmdline = *f.cmdline;
  if (!f.shim.empty()) boot.shim = f.shim;
  if (!f.grub_efi.empty()) boot.grub_efi = f.grub_efi;
  if (!f.gpt_mbr.empty()) boot.gpt_mbr = f.gpt_mbr;
  boot.free_bytes = f.free_mib << 20;
  // A file or directory that exists is an OCI archive or layout; anything else a reference.
  std::error_code ec;
  if (std::filesystem::exists(f.from, ec)) {
    auto l = open(t, err);
    if (!l) return 1;
    return importOci(*l, t, {"build", name, f.from, f.from, true, &boot}, out, err);
  }
  // A path that is not there is named as such, not looked up on Docker Hub.
  const std::string_view from = f.from;
  if (from.starts_with('/') || from.starts_with('.') || from.ends_with(".tar") ||
      from.ends_with(".tar.gz")) {
    err << fmt::format("drover images build: {}: no such file or directory\n", f.from);
    return 1;
  }
  if (!images::registry::parseReference(f.from)) {
    err << fmt::format(
        "drover images build: \"{}\" is neither an OCI archive or layout here nor an image "
        "reference (host[:port]/repository[:tag])\n",
        f.from);
    return 1;
  }
  RegistryFlags rf = f.registry;
  rf.disk = true;
  rf.boot = &boot;
  return runImagesPullRegistry(t, name, f.from, rf, out, err);
}

int runImagesCapture(const ImagesTarget& t, const CaptureFlags& f, const std::string& node,
                     std::ostream& out, std::ostream& err) {
  ApiTarget target;
  target.config = t.config;
  target.api = f.api;
  target.state_dir = t.state_dir;
  target.ca = f.ca;
  target.token = f.token;
  auto api = ApiClient::connect(target);
  if (!api) {
    err << "drover images capture: " << api.error().message << '\n';
    return exitCodeFor(api.error());
  }
  auto r = api->call(f.cancel ? "DELETE" : "POST", "/v1/nodes/" + pathSegment(node) + "/capture",
                     f.image.empty() ? std::string("{}") : json{{"image", f.image}}.dump());
  if (!r) {
    err << fmt::format("drover images capture: {}: {} ({})\n", node, r.error().message,
                       r.error().code);
    return exitCodeFor(r.error());
  }
  auto j = json::parse(*r, nullptr, false);
  if (!j.is_object()) {
    err << "drover images capture: " << node
        << ": the API sent a reply that is not a JSON object\n";
    return 1;
  }
  if (f.cancel) {
    out << node << ": capture cancelled\n";
  } else {
    out << fmt::format(
        "{}: capture requested into image {}; its next network boot reads the disk "
        "(follow it with `drover node {}`)\n",
        node, j.value("capture", ""), node);
  }
  return 0;
}

}  // namespace drover::cli
