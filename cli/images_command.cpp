// drover images list | pull | verify | rm | gc | capture: the image catalog under the state
// directory (docs/images.md). Works beside a running `drover serve`: both lock the index.
// `capture` asks the running server, through its operator API, to capture a node's disk.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/api_client.hpp"
#include "cli/commands.hpp"
#include "cluster/loader.hpp"
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

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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

// An OCI layout or archive into <state dir>/images/oci/NAME (rootfs.tar, disk.raw), reported.
int importOci(const Loaded& l, const ImagesTarget& t, std::string_view command,
              const std::string& name, const std::filesystem::path& source, bool disk,
              std::ostream& out, std::ostream& err, std::filesystem::path work = {}) {
  if (!validName(name)) {
    err << fmt::format("drover images {}: \"{}\" is not an image name (no '/', no leading '.')\n",
                       command, name);
    return 1;
  }
  const auto dir = stateDir(t, *l.config) / "images" / "oci" / name;
  const auto scratch = l.catalog->blobs().tmpDir() / ("oci-" + name);
  auto r = images::oci::importImage(source, dir, work.empty() ? scratch : work, disk);
  std::error_code ec;
  std::filesystem::remove_all(work.empty() ? scratch : work.parent_path(), ec);
  if (!r) {
    err << fmt::format("drover images {}: {} ({})\n", command, r.error().message, r.error().code);
    return 1;
  }
  out << fmt::format("{}: {} layers -> {} (sha256 {})\n", name, r->layers, r->rootfs_tar.string(),
                     r->rootfs_sha256.hex());
  if (disk) {
    out << fmt::format("{}: raw disk (GPT, ext4) -> {} (sha256 {})\n", name, r->disk_raw.string(),
                       r->disk_sha256.hex());
    out << fmt::format("declare it as:\n  {}:\n    disk: {{ path: {}, sha256: {} }}\n", name,
                       r->disk_raw.string(), r->disk_sha256.hex());
  }
  return 0;
}

constexpr std::string_view kCaptureSource = "capture://";

// --- capture: one operator API call ------------------------------------------------------------

struct CaptureFlags {
  std::string image;  // empty: the server's default, <node>-capture
  std::string api;    // empty: from the declaration's server.api
  std::string token;  // empty: DROVER_TOKEN, else <state dir>/operator.token
  std::string ca;     // empty: <state dir>/tls/ca.crt
  bool cancel = false;
};

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

  if (as_json) {
    out << json{{"images", rows}, {"checks", checks}}.dump(2) << '\n';
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
  return importOci(*l, t, "import-oci", name, source, disk, out, err);
}

int runImagesPullRegistry(const ImagesTarget& t, const std::string& name, const std::string& ref,
                          const RegistryFlags& f, std::ostream& out, std::ostream& err) {
  namespace registry = images::registry;
  auto parsed = registry::parseReference(ref);
  if (!parsed) {
    err << fmt::format("drover images pull: {} ({})\n", parsed.error().message,
                       parsed.error().code);
    return 1;
  }
  if (f.plain_http && f.insecure_tls) {
    err << "drover images pull: --plain-http and --insecure-tls exclude each other\n";
    return 1;
  }
  if (!validName(name)) {
    err << fmt::format("drover images pull: \"{}\" is not an image name (no '/', no leading '.')\n",
                       name);
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
    err << fmt::format("drover images pull: {} ({})\n", creds.error().message, creds.error().code);
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
    err << fmt::format("drover images pull: {}: {} ({})\n", parsed->str(), r.error().message,
                       r.error().code);
    return 1;
  }
  out << fmt::format(
      "{}: {} {} manifest sha256:{}, {} layers: {} blob(s) fetched ({}{}), {} "
      "already stored\n",
      name, parsed->str(), r->platform, r->manifest_digest.hex(), r->layers, r->blobs_fetched,
      human(r->bytes_fetched), r->resumes > 0 ? fmt::format(", {} resumed", r->resumes) : "",
      r->blobs_cached);
  return importOci(*l, t, "pull", name, layout, f.disk, out, err, work / "import");
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

void addImagesCommands(CLI::App& root, Context& ctx) {
  auto* images =
      root.add_subcommand("images", "The image catalog: list, pull, verify, rm, gc, capture");
  images->require_subcommand(1);
  auto target = std::make_shared<ImagesTarget>();
  auto common = [target](CLI::App* cmd) {
    cmd->add_option("-c,--config", target->config, "Cluster declaration (YAML)")->required();
    cmd->add_option("--state-dir", target->state_dir,
                    "State directory (default: the directory of server.state.path)");
  };
  auto name = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);

  auto* list = images->add_subcommand("list", "Declared images and every cached version");
  common(list);
  list->add_flag("--json", *as_json, "JSON instead of a table");
  list->callback([&ctx, target, as_json] {
    ctx.exit_code = runImagesList(*target, *as_json, ctx.out, ctx.err);
  });

  auto* pull = images->add_subcommand(
      "pull",
      "Fetch and verify an image's url files now, and pin them; or, given REF, pull an image "
      "from an OCI registry and import it like import-oci");
  common(pull);
  auto ref = std::make_shared<std::string>();
  auto rf = std::make_shared<RegistryFlags>();
  auto pull_no_disk = std::make_shared<bool>(false);
  pull->add_option("IMAGE", *name, "image name")->required();
  auto* ref_opt = pull->add_option(
      "REF", *ref, "registry reference: host[:port]/repository[:tag] or ...@sha256:<digest>");
  pull->add_flag("--progress", target->progress,
                 "Progress lines even when stderr is not a terminal");
  pull->add_option("--arch", rf->arch, "REF: architecture to pick from an index (default amd64)");
  pull->add_option("--variant", rf->variant, "REF: architecture variant (v8...), default any");
  pull->add_option("--ca-file", rf->ca_file, "REF: CA bundle (PEM) trusted for the registry");
  pull->add_flag("--plain-http", rf->plain_http, "REF: plain HTTP, no TLS");
  pull->add_flag("--insecure-tls", rf->insecure_tls,
                 "REF: HTTPS without certificate verification (self-signed registries)");
  pull->add_flag("--no-disk", *pull_no_disk, "REF: only the rootfs tarball, no raw disk image");
  for (const char* o :
       {"--arch", "--variant", "--ca-file", "--plain-http", "--insecure-tls", "--no-disk"})
    pull->get_option(o)->needs(ref_opt);
  pull->callback([&ctx, target, name, ref, rf, pull_no_disk] {
    rf->disk = !*pull_no_disk;
    ctx.exit_code = ref->empty()
                        ? runImagesPull(*target, *name, ctx.out, ctx.err)
                        : runImagesPullRegistry(*target, *name, *ref, *rf, ctx.out, ctx.err);
  });

  auto* verify =
      images->add_subcommand("verify", "Re-hash every cached blob and check local files");
  common(verify);
  verify->callback([&ctx, target] { ctx.exit_code = runImagesVerify(*target, ctx.out, ctx.err); });

  auto* rm = images->add_subcommand("rm", "Forget every cached version of an image, pinned or not");
  common(rm);
  rm->add_option("IMAGE", *name, "image name")->required();
  rm->callback(
      [&ctx, target, name] { ctx.exit_code = runImagesRm(*target, *name, ctx.out, ctx.err); });

  auto* oci = images->add_subcommand(
      "import-oci", "Import an OCI layout or oci-archive as a rootfs tarball and raw disk");
  common(oci);
  auto source = std::make_shared<std::string>();
  auto no_disk = std::make_shared<bool>(false);
  oci->add_option("NAME", *name, "image name")->required();
  oci->add_option("PATH", *source, "OCI layout directory or oci-archive tar")->required();
  oci->add_flag("--no-disk", *no_disk, "Only the rootfs tarball, no raw disk image");
  oci->callback([&ctx, target, name, source, no_disk] {
    ctx.exit_code = runImagesImportOci(*target, *name, *source, !*no_disk, ctx.out, ctx.err);
  });

  auto* capture = images->add_subcommand(
      "capture", "Capture a node's disk as a new image version on its next boot");
  common(capture);
  auto cf = std::make_shared<CaptureFlags>();
  capture->add_option("NODE", *name, "node name")->required();
  capture->add_option("--image", cf->image, "Target image (default: <node>-capture)");
  capture->add_option("--api", cf->api,
                      "API base URL (default: from the declaration's server.api)");
  capture->add_option("--token", cf->token,
                      "Operator token (default: DROVER_TOKEN or <state dir>/operator.token)");
  capture->add_option("--ca", cf->ca,
                      "CA certificate of the API (default: <state dir>/tls/ca.crt)");
  capture->add_flag("--cancel", cf->cancel, "Cancel a pending capture instead");
  capture->callback([&ctx, target, name, cf] {
    ctx.exit_code = runImagesCapture(*target, *cf, *name, ctx.out, ctx.err);
  });

  auto* gc =
      images->add_subcommand("gc", "Remove cached versions unused for longer than update.expire");
  common(gc);
  gc->callback([&ctx, target] { ctx.exit_code = runImagesGc(*target, ctx.out, ctx.err); });
}

}  // namespace drover::cli
