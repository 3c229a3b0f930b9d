// A pull: manifests resolved to one platform, blobs streamed into the store, an OCI layout.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/curl/easy.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "images/fetch/fetcher.hpp"
#include "images/registry/client.hpp"
#include "images/verify/signature.hpp"

namespace drover::images::registry {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("registry");
  return l;
}

Sha256 hashOf(std::string_view s) {
  verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return h.finish();
}

Result<Sha256> digestOf(const std::string& text, const std::string& what) {
  if (!text.starts_with("sha256:"))
    return makeError("unsupported", what + ": only sha256 digests are supported: " + text);
  auto d = Sha256::parse(text.substr(7));
  if (!d || text.size() != 7 + 64) return makeError("bad_manifest", what + ": bad digest " + text);
  return *d;
}

struct Descriptor {
  std::string media_type;
  Sha256 digest;
  std::uint64_t size = 0;
};

Result<Descriptor> descriptorOf(const json& j, const std::string& what) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned())
    return makeError("bad_manifest", what + ": not a descriptor with a digest and a size");
  auto d = digestOf(j["digest"].get<std::string>(), what);
  if (!d) return d.error();
  return Descriptor{j.value("mediaType", std::string()), *d, j["size"].get<std::uint64_t>()};
}

struct Manifest {
  std::string media_type;
  std::string body;
  Sha256 digest;
  json doc;
};

// GET one manifest by tag or digest, checked against `expected` (a digest reference) or the
// digest the registry names.
Result<Manifest> fetchManifest(Client& client, const std::string& ref, const Sha256* expected) {
  static const std::string accept =
      fmt::format("Accept: {}, {}, {}, {}", kOciIndex, kOciManifest, kDockerList, kDockerManifest);
  auto r = client.get("manifests/" + ref, {accept});
  if (!r) return r.error();
  const std::string what = client.url("manifests/" + ref);
  if (r->status != 200) return replyError(*r, what);
  Manifest m;
  m.body = std::move(r->body);
  m.digest = hashOf(m.body);
  if (expected && m.digest != *expected)
    return makeError("digest_mismatch",
                     fmt::format("{}: the manifest hashes to sha256:{}", what, m.digest.hex()));
  if (auto h = r->headers.find("docker-content-digest"); h != r->headers.end() && !expected) {
    if (auto d = digestOf(h->second, what); d && *d != m.digest)
      return makeError("digest_mismatch",
                       fmt::format("{}: the registry names the manifest {} but it hashes to "
                                   "sha256:{}",
                                   what, h->second, m.digest.hex()));
  }
  m.doc = json::parse(m.body, nullptr, false);
  if (!m.doc.is_object()) return makeError("bad_manifest", what + ": not a JSON object");
  if (m.doc.value("schemaVersion", 0) != 2)
    return makeError("unsupported", what + ": only schema version 2 manifests are supported");
  m.media_type = m.doc.value("mediaType", std::string());
  if (m.media_type.empty())
    if (auto h = r->headers.find("content-type"); h != r->headers.end())
      m.media_type = h->second.substr(0, h->second.find(';'));
  if (m.media_type.empty())  // OCI allows leaving it out: tell by the content
    m.media_type = m.doc.contains("manifests") ? kOciIndex : kOciManifest;
  if (m.media_type != kOciIndex && m.media_type != kOciManifest && m.media_type != kDockerList &&
      m.media_type != kDockerManifest)
    return makeError("unsupported", what + ": media type " + m.media_type);
  return m;
}

bool isIndex(const std::string& media_type) {
  return media_type == kOciIndex || media_type == kDockerList;
}

// The index entry for the wanted platform, or no_platform naming those there are.
Result<Descriptor> pickPlatform(const Manifest& index, const Options& o, std::string* platform) {
  const auto& list = index.doc.value("manifests", json::array());
  if (!list.is_array()) return makeError("bad_manifest", "the index has no manifest list");
  std::vector<std::string> seen;
  for (const auto& m : list) {
    if (!m.is_object()) continue;
    const auto& p = m.value("platform", json::object());
    if (!p.is_object()) continue;
    const std::string os = p.value("os", ""), arch = p.value("architecture", ""),
                      variant = p.value("variant", "");
    const std::string name = os + "/" + arch + (variant.empty() ? "" : "/" + variant);
    if (os == "unknown") continue;  // attestations
    seen.push_back(name);
    if (os == o.os && arch == o.architecture && (o.variant.empty() || variant == o.variant)) {
      *platform = name;
      return descriptorOf(m, "index entry " + name);
    }
  }
  std::string have;
  for (const auto& s : seen) have += (have.empty() ? "" : ", ") + s;
  return makeError(
      "no_platform",
      fmt::format("no manifest for {}/{}{} (the index has {})", o.os, o.architecture,
                  o.variant.empty() ? "" : "/" + o.variant, have.empty() ? "none" : have));
}

Status writeFile(const fs::path& p, std::string_view data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) return makeError("eio", p.string() + ": write failed");
  return Status::success();
}

// A manifest (already checked) into the store.
Status keep(store::BlobStore& store, const Manifest& m) {
  if (store.has(m.digest)) return Status::success();
  const fs::path tmp = store.tmpDir() / ("registry-" + m.digest.hex() + ".manifest");
  if (auto st = writeFile(tmp, m.body); !st) return st;
  return store.publishHashed(tmp, m.digest);
}

struct BlobStats {
  bool fetched = false;
  std::uint64_t bytes = 0;
  int resumes = 0;
};

// One blob into the store: hashed as it streams, resumed with Range from what a cut
// transfer (in this run or an earlier one) left in the partial file.
Result<BlobStats> fetchBlob(Client& client, const Descriptor& d, const Options& o,
                            store::BlobStore& store, const std::string& label) {
  BlobStats stats;
  if (store.has(d.digest)) return stats;
  // One transfer per blob across processes: a second pull of it waits, then finds it stored.
  const fs::path lock_path = store.tmpDir() / ("registry-" + d.digest.hex() + ".lock");
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock) return makeError("eio", lock_path.string() + ": " + std::strerror(errno));
  while (::flock(lock.get(), LOCK_EX) != 0)
    if (errno != EINTR) return makeError("eio", lock_path.string() + ": " + std::strerror(errno));
  if (store.has(d.digest)) return stats;
  const fs::path partial = store.tmpDir() / ("registry-" + d.digest.hex() + ".partial");
  const std::string what = client.url("blobs/sha256:" + d.digest.hex());
  std::unique_ptr<fetch::Progress> progress;
  if (o.progress) progress = fetch::makeProgress(label, o.progress);
  for (int attempt = 1;; ++attempt) {
    std::error_code ec;
    std::uint64_t offset = fs::exists(partial, ec) ? fs::file_size(partial, ec) : 0;
    if (ec || offset >= d.size) offset = 0;
    UniqueFd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return makeError("eio", partial.string() + ": " + std::strerror(errno));
    if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0)
      return makeError("eio", partial.string() + ": " + std::strerror(errno));
    // What is already there is hashed first, so the digest covers the whole blob.
    verify::Sha256Hasher hasher;
    {
      char buf[1 << 16];
      std::uint64_t left = offset;
      while (left > 0) {
        const ssize_t n = ::read(fd.get(), buf, std::min<std::uint64_t>(sizeof buf, left));
        if (n <= 0) return makeError("eio", partial.string() + ": short read");
        hasher.update({reinterpret_cast<const std::uint8_t*>(buf), static_cast<std::size_t>(n)});
        left -= static_cast<std::uint64_t>(n);
      }
    }
    std::uint64_t have = offset;
    bool too_long = false, io_error = false, first = true;
    auto sink = [&](long status, std::string_view data) {
      if (std::exchange(first, false) && status == 200 && have > 0) {  // the range was ignored
        hasher = verify::Sha256Hasher();
        have = 0;
        if (::ftruncate(fd.get(), 0) != 0 || ::lseek(fd.get(), 0, SEEK_SET) != 0) {
          io_error = true;
          return false;
        }
      }
      if (have + data.size() > d.size) {
        too_long = true;
        return false;
      }
      hasher.update({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
      for (std::size_t done = 0; done < data.size();) {
        const ssize_t w = ::write(fd.get(), data.data() + done, data.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          io_error = true;
          return false;
        }
        done += static_cast<std::size_t>(w);
      }
      have += data.size();
      stats.bytes += data.size();
      if (progress) progress->update(have, d.size);
      return true;
    };
    std::vector<std::string> headers;
    if (offset > 0) {
      headers.push_back(fmt::format("Range: bytes={}-", offset));
      ++stats.resumes;
      logger()->info("REGISTRY_BLOB_RESUME digest=sha256:{} offset={}", d.digest.hex(), offset);
    }
    auto r = client.get("blobs/sha256:" + d.digest.hex(), headers, sink);
    auto fail = [&](Error e) -> Result<BlobStats> {
      fs::remove(partial, ec);
      if (progress) progress->finish(false);
      return e;
    };
    if (too_long)
      return fail(makeError("digest_mismatch", fmt::format("{}: more than the {} bytes its "
                                                           "descriptor says",
                                                           what, d.size)));
    if (io_error) return fail(makeError("eio", partial.string() + ": write failed"));
    const bool cut = !r ? (r.error().code == "network")
                        : (r->status == 200 || r->status == 206) && have < d.size;
    const bool server_busy = r && (r->status == 429 || r->status >= 500);
    if ((cut || server_busy) && attempt < o.max_attempts) {
      logger()->warn("REGISTRY_BLOB_RETRY digest=sha256:{} attempt={} have={} error={}",
                     d.digest.hex(), attempt, have, !r ? r.error().message : "cut short");
      std::this_thread::sleep_for(curl::backoffDelay(attempt, o.backoff, std::chrono::seconds(5)));
      continue;
    }
    if (!r) {
      if (progress) progress->finish(false);
      return r.error();  // the partial file stays for the next run
    }
    if (r->status != 200 && r->status != 206) return fail(replyError(*r, what));
    if (have < d.size) {
      if (progress) progress->finish(false);
      return makeError("network", fmt::format("{}: {} of {} bytes after {} attempts", what, have,
                                              d.size, attempt));
    }
    const Sha256 got = hasher.finish();
    if (got != d.digest)
      return fail(makeError("digest_mismatch", fmt::format("{}: {} bytes hashing to sha256:{}",
                                                           what, have, got.hex())));
    if (::fsync(fd.get()) != 0 || fd.close() != 0)
      return fail(makeError("eio", partial.string() + ": " + std::strerror(errno)));
    if (auto st = store.publishHashed(partial, d.digest); !st) return fail(st.error());
    if (progress) progress->finish(true);
    stats.fetched = true;
    return stats;
  }
}

// index.json + oci-layout + blobs/sha256/* linked to the store.
Status writeLayout(const fs::path& layout, const store::BlobStore& store,
                   const std::string& media_type, const Sha256& manifest, std::uint64_t size,
                   const std::vector<Sha256>& blobs) {
  std::error_code ec;
  fs::remove_all(layout, ec);
  fs::create_directories(layout / "blobs" / "sha256", ec);
  if (ec) return makeError("eio", layout.string() + ": " + ec.message());
  for (const auto& b : blobs) {
    const fs::path to = layout / "blobs" / "sha256" / b.hex();
    if (fs::exists(to, ec)) continue;
    fs::create_hard_link(store.blobPath(b), to, ec);
    if (ec) fs::create_symlink(fs::absolute(store.blobPath(b)), to, ec);
    if (ec) return makeError("eio", to.string() + ": " + ec.message());
  }
  const json index = {
      {"schemaVersion", 2},
      {"mediaType", kOciIndex},
      {"manifests",
       json::array(
           {{{"mediaType", media_type}, {"digest", "sha256:" + manifest.hex()}, {"size", size}}})}};
  if (auto st = writeFile(layout / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"); !st)
    return st;
  return writeFile(layout / "index.json", index.dump());
}

Result<PullResult> pullImpl(const Reference& ref, const Options& o, store::BlobStore& store,
                            const fs::path& layout) {
  if (auto st = store.init(); !st) return st.error();
  Client client(ref, o);
  PullResult out;
  std::optional<Sha256> wanted;
  if (!ref.digest.empty()) {
    auto d = digestOf(ref.digest, ref.str());
    if (!d) return d.error();
    wanted = *d;
  }
  auto m = fetchManifest(client, ref.ref(), wanted ? &*wanted : nullptr);
  if (!m) return m.error();
  out.platform = o.os + "/" + o.architecture;
  std::vector<Sha256> blobs;
  if (isIndex(m->media_type)) {
    out.index_digest = m->digest;
    if (auto st = keep(store, *m); !st) return st.error();
    blobs.push_back(m->digest);
    auto entry = pickPlatform(*m, o, &out.platform);
    if (!entry) return entry.error();
    m = fetchManifest(client, "sha256:" + entry->digest.hex(), &entry->digest);
    if (!m) return m.error();
    if (isIndex(m->media_type))
      return makeError("unsupported", ref.str() + ": an index inside an index");
  }
  out.manifest_digest = m->digest;
  if (auto st = keep(store, *m); !st) return st.error();
  blobs.push_back(m->digest);
  auto config = descriptorOf(m->doc.value("config", json()), "manifest config");
  if (!config) return config.error();
  std::vector<Descriptor> all{*config};
  const auto& layers = m->doc.value("layers", json::array());
  if (!layers.is_array()) return makeError("bad_manifest", "manifest: layers is not a list");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    auto l = descriptorOf(layers[i], fmt::format("manifest layer {}", i));
    if (!l) return l.error();
    all.push_back(*l);
  }
  out.layers = all.size() - 1;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::string label =
        i == 0 ? "config"
               : fmt::format("layer {}/{} {}", i, out.layers, all[i].digest.hex().substr(0, 12));
    auto s = fetchBlob(client, all[i], o, store, label);
    if (!s) return s.error();
    s->fetched ? ++out.blobs_fetched : ++out.blobs_cached;
    out.bytes_fetched += s->bytes;
    out.resumes += s->resumes;
    blobs.push_back(all[i].digest);
    // A single-platform image for another architecture is refused like a missing index entry.
    if (i == 0 && out.index_digest == Sha256()) {
      auto text = verify::readSmallFile(store.blobPath(config->digest), 4 << 20);
      auto c = text ? json::parse(*text, nullptr, false) : json();
      if (c.is_object() && c.contains("architecture") && c["architecture"].is_string()) {
        const std::string arch = c["architecture"], os = c.value("os", std::string("linux"));
        out.platform = os + "/" + arch;
        if (arch != o.architecture || os != o.os)
          return makeError("no_platform", fmt::format("{} is an image for {}, not {}/{}", ref.str(),
                                                      out.platform, o.os, o.architecture));
      }
    }
  }
  if (auto st = writeLayout(layout, store, m->media_type, m->digest, m->body.size(), blobs); !st)
    return st.error();
  return out;
}

}  // namespace

Result<PullResult> pull(const Reference& ref, const Options& options, store::BlobStore& store,
                        const fs::path& layout) {
  auto r = pullImpl(ref, options, store, layout);
  if (!r) {
    metrics::Registry::global()
        .counter("registry_pull_failures_total", "Registry pulls refused or failed, by reason",
                 fmt::format("reason=\"{}\"", r.error().code))
        .fetch_add(1, std::memory_order_relaxed);
    logger()->warn("REGISTRY_PULL_FAILED ref={} code={} error={}", ref.str(), r.error().code,
                   r.error().message);
    return r;
  }
  metrics::Registry::global()
      .counter("registry_blobs_fetched_total", "Blobs downloaded from registries")
      .fetch_add(r->blobs_fetched, std::memory_order_relaxed);
  logger()->info(
      "REGISTRY_PULLED ref={} manifest=sha256:{} platform={} fetched={} cached={} "
      "bytes={} resumes={}",
      ref.str(), r->manifest_digest.hex(), r->platform, r->blobs_fetched, r->blobs_cached,
      r->bytes_fetched, r->resumes);
  return r;
}

}  // namespace drover::images::registry
