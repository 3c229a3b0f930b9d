#include "images/catalog/catalog.hpp"
#include "images/catalog/internal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "images/fetch/fetcher.hpp"
#include "images/verify/signature.hpp"

namespace drover::images::catalog {

namespace fs = std::filesystem;

namespace {

using internal::logger;

void countFailure(const std::string& reason) {
  metrics::Registry::global()
      .counter("image_fetch_failures_total", "Image downloads refused or failed, by reason",
               fmt::format("reason=\"{}\"", reason))
      .fetch_add(1, std::memory_order_relaxed);
}

// An exclusive flock held for the object's lifetime: one download per artifact across
// processes sharing the store.
class DownloadLock {
 public:
  explicit DownloadLock(const fs::path& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_)
      while (::flock(fd_.get(), LOCK_EX) != 0 && errno == EINTR) {
      }
  }

 private:
  UniqueFd fd_;
};

std::string hashOfText(std::string_view s) {
  verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return h.finish().hex();
}

}  // namespace

std::string describe(const std::string& image, const std::string& kind, const Sha256& digest) {
  return fmt::format("{}/{}@{}", image, kind, digest.hex().substr(0, 12));
}

Catalog::Catalog(Options options)
    : options_(std::move(options)),
      blobs_(options_.root),
      meta_(options_.metadata ? options_.metadata
                              : std::make_shared<store::FileMetadata>(options_.root)) {}

Status Catalog::init() {
  if (auto st = blobs_.init(); !st) return st;
  // A replica that starts with blobs (a restart, a copied store) offers them at once.
  if (meta_->shared() && !options_.replica_id.empty()) {
    auto index = meta_->read();
    if (index)
      for (const auto& digest : blobs_.list())
        if (index->references(digest)) advertise(digest);
  }
  return Status::success();
}

void Catalog::advertise(const Sha256& digest) {
  if (!meta_->shared() || options_.replica_id.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (!advertised_.insert(digest.hex()).second) return;
  }
  if (auto st = meta_->addHolder(digest, options_.replica_id); !st) {
    std::lock_guard lock(mu_);
    advertised_.erase(digest.hex());
    logger()->warn("IMAGE_HOLDER_NOT_RECORDED sha256={} code={} error={}", digest.hex(),
                   st.error().code, st.error().message);
  }
}

std::int64_t Catalog::now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<Resolved> Catalog::singleFlight(const std::string& key,
                                       const std::function<Result<Resolved>()>& work,
                                       bool* shared) {
  std::promise<Result<Resolved>> promise;
  std::shared_future<Result<Resolved>> waiting;
  {
    std::lock_guard lock(mu_);
    if (auto it = inflight_.find(key); it != inflight_.end()) {
      waiting = it->second;
    } else {
      inflight_.emplace(key, promise.get_future().share());
    }
  }
  if (shared != nullptr) *shared = waiting.valid();
  if (waiting.valid()) return waiting.get();
  Result<Resolved> r = makeError("internal", "unset");
  try {
    r = work();
  } catch (const std::exception& e) {
    r = makeError("internal", e.what());
  }
  promise.set_value(r);
  std::lock_guard lock(mu_);
  inflight_.erase(key);
  return r;
}

Result<Resolved> Catalog::ensure(const ArtifactSpec& spec, Mode mode) {
  bool shared = false;
  Result<Resolved> r = singleFlight(
      store::IndexData::key(spec.image, spec.kind), [&] { return ensureOnce(spec, mode); },
      &shared);
  // Someone else fetched it: their result, marked used for this caller too.
  if (!shared || !r || mode == Mode::Use) return r;
  return markUsed(spec, r->sha256, mode, *r);
}

Result<Resolved> Catalog::ensureOnce(const ArtifactSpec& spec, Mode mode) {
  DownloadLock lock(blobs_.tmpDir() /
                    (hashOfText(spec.image + "/" + spec.kind).substr(0, 16) + ".lock"));
  auto index = meta_->read();
  if (!index) return index.error();
  const store::Entry* entry = index->find(spec.image, spec.kind);
  // The cached version to use: the declared sha256's, else the current one.
  const store::Version* cached = nullptr;
  if (entry != nullptr) {
    for (const auto& v : entry->versions) {
      const bool wanted = spec.sha256 ? v.sha256 == *spec.sha256 : &v == entry->current();
      if (!wanted) continue;
      // Known to the catalog but not here: another replica has it, or its upstream.
      if (!blobs_.has(v.sha256) && meta_->shared()) {
        // No source had it (its upstream among them): an error, rather than a fetch that
        // would make upstream's content the current version over a captured one.
        auto got = obtain(v.sha256, v.size, v.url.empty() ? spec.url : v.url);
        if (!got) {
          logger()->warn("IMAGE_VERSION_UNAVAILABLE version={} code={} error={}",
                         describe(spec.image, spec.kind, v.sha256), got.error().code,
                         got.error().message);
          return got.error();
        }
      }
      if (blobs_.has(v.sha256)) cached = &v;
    }
  }
  if (cached != nullptr) {
    advertise(cached->sha256);
    const auto interval_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(spec.interval).count();
    if (interval_ms > 0 && check_on_use_.load(std::memory_order_relaxed) &&
        now() - entry->checked_ms >= interval_ms) {
      auto fresh = refresh(spec);
      if (fresh) return markUsed(spec, fresh->sha256, mode, *fresh);
      logger()->warn("IMAGE_UPDATE_CHECK_FAILED image={} kind={} code={} error={}", spec.image,
                     spec.kind, fresh.error().code, fresh.error().message);
    }
    Resolved r{cached->sha256, blobs_.blobPath(cached->sha256), cached->size};
    return markUsed(spec, cached->sha256, mode, r);
  }
  if (spec.sha256 && blobs_.has(*spec.sha256) &&
      !spec.signature) {  // the same bytes under another name
    Resolved r{*spec.sha256, blobs_.blobPath(*spec.sha256), blobs_.size(*spec.sha256).value_or(0)};
    return markUsed(spec, *spec.sha256, mode, r);
  }
  auto r = fetchVersion(spec, nullptr);
  if (!r) return r;
  return markUsed(spec, r->sha256, mode, *r);
}

Result<Resolved> Catalog::refresh(const ArtifactSpec& spec) {
  auto index = meta_->read();
  if (!index) return index.error();
  const store::Entry* entry = index->find(spec.image, spec.kind);
  const store::Version* current = entry != nullptr ? entry->current() : nullptr;
  if (current != nullptr && !blobs_.has(current->sha256)) current = nullptr;
  std::optional<store::Version> validators;
  if (current != nullptr) validators = *current;
  auto r = fetchVersion(spec, validators ? &*validators : nullptr);
  if (!r && r.error().code == "sha256_mismatch" && current != nullptr) {
    return makeError(
        "upstream_changed",
        fmt::format("{}/{}: upstream serves new content but the declared sha256 pins {}; "
                    "update the declaration to take it ({})",
                    spec.image, spec.kind, spec.sha256 ? spec.sha256->hex() : "",
                    r.error().message));
  }
  return r;
}

Result<Resolved> Catalog::fetchLocked(const ArtifactSpec& spec, const store::Version* validators,
                                      const std::atomic<bool>* cancel) {
  DownloadLock lock(blobs_.tmpDir() /
                    (hashOfText(spec.image + "/" + spec.kind).substr(0, 16) + ".lock"));
  return fetchVersion(spec, validators, cancel);
}

Result<Resolved> Catalog::fetchVersion(const ArtifactSpec& spec, const store::Version* validators,
                                       const std::atomic<bool>* cancel) {
  // The key is loaded before the download starts.
  std::optional<verify::PublicKey> key;
  std::vector<std::uint8_t> signature;
  if (spec.signature) {
    auto it = options_.trust_keys.find(spec.signature->key);
    if (it == options_.trust_keys.end()) {
      countFailure("untrusted_key");
      return makeError("untrusted_key", fmt::format("{}/{}: key \"{}\" is not under trust.keys",
                                                    spec.image, spec.kind, spec.signature->key));
    }
    auto k = verify::PublicKey::load(it->second);
    if (!k) return k.error();
    key = std::move(*k);
  }
  // The detached signature: before a first download (nothing is fetched that could not be
  // verified), after a re-check's 200 (a 304 costs upstream one request).
  auto loadSignature = [&]() -> Status {
    if (!spec.signature) return Status::success();
    auto text = spec.signature->url.empty()
                    ? verify::readSmallFile(spec.signature->path)
                    : fetch::fetchSmall(spec.signature->url, options_.ca_file);
    if (!text) {
      countFailure("signature_unavailable");
      return makeError("signature_unavailable", "signature: " + text.error().message);
    }
    auto bytes = verify::decodeSignature(*text);
    if (!bytes) return bytes.error();
    signature = std::move(*bytes);
    return Status::success();
  };
  if (validators == nullptr)
    if (auto st = loadSignature(); !st) return st.error();
  const std::string name =
      spec.sha256 ? spec.sha256->hex() : hashOfText(spec.url);  // resumable across runs
  const fs::path partial = blobs_.tmpDir() / (name + ".partial");

  std::unique_ptr<fetch::Progress> progress;
  if (options_.progress != nullptr)
    progress = fetch::makeProgress(fmt::format("{}/{}", spec.image, spec.kind), options_.progress);
  fetch::Request req;
  req.url = spec.url;
  req.partial = partial;
  req.ca_file = options_.ca_file;
  req.max_attempts = options_.max_attempts;
  req.backoff = options_.backoff;
  req.progress = progress.get();
  req.cancel = cancel;
  if (validators != nullptr) {
    req.etag = validators->etag;
    req.last_modified = validators->last_modified;
  }
  logger()->info("IMAGE_FETCH_START image={} kind={} url={} conditional={}", spec.image, spec.kind,
                 spec.url, validators != nullptr);
  auto got = fetch::download(req);
  if (!got) {
    countFailure(got.error().code);
    logger()->warn("IMAGE_FETCH_FAILED image={} kind={} code={} error={}", spec.image, spec.kind,
                   got.error().code, got.error().message);
    return got.error();
  }
  const std::int64_t t = now();
  if (got->not_modified && validators != nullptr) {
    logger()->info("IMAGE_UNCHANGED image={} kind={} sha256={}", spec.image, spec.kind,
                   validators->sha256.hex());
    const Sha256 digest = validators->sha256;
    auto st = meta_->update([&](store::IndexData& d) {
      d.entry(spec.image, spec.kind).checked_ms = t;
      return Status::success();
    });
    if (!st) return st.error();
    return Resolved{digest, blobs_.blobPath(digest), validators->size};
  }
  if (got->not_modified)
    return makeError("http_status", spec.url + ": 304 to an unconditional request");
  if (validators != nullptr)
    if (auto st = loadSignature(); !st) return st.error();

  verify::FileCheck check{spec.sha256 ? &*spec.sha256 : nullptr, key ? &*key : nullptr, signature};
  auto digest = blobs_.publish(partial, check);
  if (!digest) {
    countFailure(digest.error().code);
    logger()->warn("IMAGE_REFUSED image={} kind={} url={} code={} error={}", spec.image, spec.kind,
                   spec.url, digest.error().code, digest.error().message);
    return digest.error();
  }
  if (key) {  // kept beside the blob, for install plans that pass it on to the agent
    const std::string bytes(signature.begin(), signature.end());
    if (auto st = meta_->putSidecar(store::Sidecar::kSignature, *digest, bytes); !st)
      return st.error();
  }
  advertise(*digest);
  const bool changed = validators != nullptr && validators->sha256 != *digest;
  logger()->info(
      "IMAGE_PUBLISHED image={} kind={} sha256={} bytes={} resumes={} signed={} new_version={}",
      spec.image, spec.kind, digest->hex(), got->bytes, got->resumes, key.has_value(), changed);
  auto st = meta_->update([&](store::IndexData& d) {
    auto& e = d.entry(spec.image, spec.kind);
    e.checked_ms = t;
    store::Version* v = e.find(*digest);
    if (v == nullptr) {
      // Unpinned: only `drover images pull` pins (below), so a version a background check
      // finds after a pulled one expires like any other once it is no longer current.
      e.versions.push_back(store::Version{*digest, got->bytes, spec.url, "", "", t, t, false});
      v = &e.versions.back();
    } else if (v != &e.versions.back()) {  // upstream went back to an older version
      const auto at = e.versions.begin() + (v - e.versions.data());
      std::rotate(at, at + 1, e.versions.end());
      v = &e.versions.back();
    }
    v->etag = got->etag;
    v->last_modified = got->last_modified;
    return Status::success();
  });
  if (!st) return st.error();
  Resolved r{*digest, blobs_.blobPath(*digest), got->bytes, true, changed};
  return r;
}

// Shared metadata: every replica marks a version used on every request, one write to one
// key each. A version marked in the last minute (and pinned when it is pulled) is left as
// it is: expiry counts in hours and days, and a read is cheaper than a contended write.
bool Catalog::usedLately(const std::string& image, const std::string& kind, const Sha256& digest,
                         bool pin) const {
  if (!meta_->shared()) return false;
  auto index = meta_->read();
  if (!index) return false;
  const store::Entry* e = index->find(image, kind);
  if (e == nullptr) return false;
  for (const auto& v : e->versions)
    if (v.sha256 == digest) return now() - v.used_ms < 60'000 && (!pin || v.pinned);
  return false;
}

Result<Resolved> Catalog::markUsed(const ArtifactSpec& spec, const Sha256& digest, Mode mode,
                                   Resolved r) {
  const std::int64_t t = now();
  if (usedLately(spec.image, spec.kind, digest, mode == Mode::Pull)) return r;
  auto st = meta_->update([&](store::IndexData& d) {
    auto& e = d.entry(spec.image, spec.kind);
    store::Version* v = e.find(digest);
    if (v == nullptr) {
      e.versions.push_back(store::Version{digest, r.size, spec.url, "", "", t, t, false});
      v = &e.versions.back();
      if (e.checked_ms == 0) e.checked_ms = t;
    }
    v->used_ms = t;
    if (mode == Mode::Pull) v->pinned = true;
    return Status::success();
  });
  if (!st) return st.error();
  return r;
}

Result<Resolved> Catalog::version(const std::string& image, const std::string& kind,
                                  const Sha256& digest) {
  if (!blobs_.has(digest) && meta_->shared()) {
    auto index = meta_->read();
    if (!index) return index.error();
    const store::Entry* e = index->find(image, kind);
    const store::Version* v = nullptr;
    if (e != nullptr)
      for (const auto& candidate : e->versions)
        if (candidate.sha256 == digest) v = &candidate;
    if (v != nullptr) {
      auto got = obtain(digest, v->size, v->url);
      if (!got) return got.error();
    }
  }
  if (!blobs_.has(digest))
    return makeError("not_cached", describe(image, kind, digest) + " is not cached");
  advertise(digest);
  const std::int64_t t = now();
  bool known = usedLately(image, kind, digest, false);
  auto st = known ? Status::success() : meta_->update([&](store::IndexData& d) {
    auto& e = d.entry(image, kind);
    if (store::Version* v = e.find(digest)) {
      v->used_ms = t;
      known = true;
    }
    return Status::success();
  });
  if (!st) return st.error();
  if (!known)
    return makeError("not_cached", describe(image, kind, digest) + " is not a version of it");
  return Resolved{digest, blobs_.blobPath(digest), blobs_.size(digest).value_or(0)};
}

Result<store::IndexData> Catalog::list() const {
  return meta_->read();
}

Result<GcReport> Catalog::sweep(
    const std::function<bool(const store::Entry&, const store::Version&)>& drop) {
  GcReport report;
  std::vector<Sha256> deleted;
  auto st = meta_->update([&](store::IndexData& d) {
    report = GcReport{};  // the change runs again when another replica wrote meanwhile
    deleted.clear();
    for (auto& [k, e] : d.entries) {
      std::erase_if(e.versions, [&](const store::Version& v) {
        if (!drop(e, v)) return false;
        report.removed.push_back(describe(e.image, e.kind, v.sha256));
        return true;
      });
    }
    std::erase_if(d.entries, [](const auto& kv) { return kv.second.versions.empty(); });
    // Blobs are deleted under the index lock, so no one can start using one meanwhile.
    for (const auto& digest : blobs_.list()) {
      if (d.references(digest)) continue;
      report.bytes_freed += blobs_.size(digest).value_or(0);
      if (blobs_.remove(digest)) ++report.blobs_removed;
      deleted.push_back(digest);
    }
    return Status::success();
  });
  if (!st) return st.error();
  for (const auto& digest : deleted) {
    (void)meta_->removeSidecars(digest);
    (void)meta_->removeHolder(digest, options_.replica_id);
    std::lock_guard lock(mu_);
    advertised_.erase(digest.hex());
  }
  for (const auto& what : report.removed) logger()->info("IMAGE_VERSION_REMOVED version={}", what);
  return report;
}

Result<GcReport> Catalog::gc(const std::vector<ArtifactSpec>& declared,
                             const std::set<std::string>& keep) {
  std::map<std::string, std::chrono::seconds> expire;
  for (const auto& s : declared) expire[store::IndexData::key(s.image, s.kind)] = s.expire;
  const std::int64_t t = now();
  return sweep([&](const store::Entry& e, const store::Version& v) {
    if (v.pinned || keep.contains(v.sha256.hex())) return false;
    auto it = expire.find(store::IndexData::key(e.image, e.kind));
    if (it == expire.end()) return true;  // no longer declared
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(it->second).count();
    return ms > 0 && t - std::max(v.used_ms, v.fetched_ms) > ms;
  });
}

Result<GcReport> Catalog::remove(const std::string& image) {
  return sweep([&](const store::Entry& e, const store::Version&) { return e.image == image; });
}

Result<Resolved> Catalog::publishLocal(const LocalFile& f) {
  std::error_code ec;
  const auto size = fs::file_size(f.file, ec);
  if (ec) {
    fs::remove(f.file, ec);
    return makeError("eio", f.file.string() + ": " + ec.message());
  }
  verify::FileCheck check;
  check.expected = &f.expected;
  auto digest = blobs_.publish(f.file, check);
  if (!digest) {
    countFailure(digest.error().code);
    logger()->warn("IMAGE_REFUSED image={} kind={} url={} code={} error={}", f.image, f.kind,
                   f.source, digest.error().code, digest.error().message);
    return digest.error();
  }
  if (!f.metadata_json.empty()) {  // before the index names the version, so readers find it
    if (auto st = meta_->putSidecar(store::Sidecar::kCapture, *digest, f.metadata_json); !st)
      return st.error();
  }
  advertise(
      *digest);  // before the index names it too: a replica that reads the index finds a holder
  const std::int64_t t = now();
  auto st = meta_->update([&](store::IndexData& d) {
    auto& e = d.entry(f.image, f.kind);
    e.checked_ms = t;
    // The same bytes captured again: that version becomes the current one.
    std::erase_if(e.versions, [&](const store::Version& v) { return v.sha256 == *digest; });
    e.versions.push_back(store::Version{*digest, size, f.source, "", "", t, t, f.pinned});
    return Status::success();
  });
  if (!st) return st.error();
  logger()->info("IMAGE_PUBLISHED image={} kind={} sha256={} bytes={} source={} pinned={}", f.image,
                 f.kind, digest->hex(), size, f.source, f.pinned);
  return Resolved{*digest, blobs_.blobPath(*digest), size, true, true};
}

Result<std::string> Catalog::metadataOf(const Sha256& digest) const {
  auto text = meta_->sidecar(store::Sidecar::kCapture, digest);
  if (!text || !*text)
    return makeError("not_found", describe("blob", "sha256", digest) + " has no metadata");
  return **text;
}

Result<std::vector<std::uint8_t>> Catalog::signatureOf(const Sha256& digest) const {
  auto text = meta_->sidecar(store::Sidecar::kSignature, digest);
  if (!text || !*text)
    return makeError("not_signed", describe("blob", "sha256", digest) + " has no stored signature");
  return std::vector<std::uint8_t>((*text)->begin(), (*text)->end());
}

std::vector<VerifyRow> Catalog::verifyAll() const {
  std::vector<VerifyRow> rows;
  auto index = meta_->read();
  if (!index) {
    rows.push_back({"index", index.error()});
    return rows;
  }
  for (const auto& [k, e] : index->entries)
    for (const auto& v : e.versions) {
      if (meta_->shared() && !blobs_.has(v.sha256)) continue;  // another replica's
      rows.push_back({describe(e.image, e.kind, v.sha256), blobs_.verify(v.sha256)});
    }
  return rows;
}

}  // namespace drover::images::catalog
