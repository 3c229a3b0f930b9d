// The image catalog: declared artifacts (kernel, initrd, disk of an image, by URL) cached
// as verified blobs in a BlobStore, with an Index of versions. LXD's three knobs:
//  - an artifact used for the first time is fetched and cached (Mode::Use);
//  - update.interval: once it has passed, upstream is asked with the cached version's ETag /
//    Last-Modified (by check(), which `drover serve` runs in the background, or else on the
//    next use); 304 keeps the version, new content becomes a new version (older ones stay
//    until they expire, so a node keeps what it was installed with);
//  - update.expire: gc() and collect() remove unpinned versions not used for that long;
//    versions pulled explicitly (Mode::Pull, `drover images pull`) are pinned and never expire.
// Several callers wanting the same artifact at once share one download (in this process
// by a shared future, across processes by a lock file in the store's tmp directory).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/values.hpp"
#include "images/store/blob_store.hpp"
#include "images/store/index.hpp"
#include "images/store/metadata.hpp"

namespace drover::images::catalog {

struct SignatureSpec {
  std::string url;  // one of url and path
  std::filesystem::path path;
  std::string key;  // a name under trust.keys
};

struct ArtifactSpec {
  std::string image;
  std::string kind;  // kernel, initrd, disk
  std::string url;
  std::optional<Sha256> sha256;  // pinned content; unset: the signature vouches for it
  std::optional<SignatureSpec> signature;
  std::chrono::seconds interval{0};  // 0: never re-check upstream
  std::chrono::seconds expire{0};    // 0: cached versions never expire
};

struct Options {
  std::filesystem::path root;                               // <state dir>/images
  std::map<std::string, std::filesystem::path> trust_keys;  // name -> PEM public key
  std::string ca_file;                                      // extra CA bundle for https
  int max_attempts = 3;
  std::chrono::milliseconds backoff{500};
  std::FILE* progress = nullptr;         // progress bar / lines here; null: quiet
  std::function<std::int64_t()> now_ms;  // unix ms; default: the system clock
  // Where the index and sidecars live; null: store::FileMetadata under `root`. Shared
  // metadata (etcd) makes this store one of several replicas' stores: see obtain().
  std::shared_ptr<store::Metadata> metadata;
  std::string replica_id;  // shared metadata: this store's replica, recorded as a holder
  // The base URL of a live replica's blob endpoint (".../blobs/sha256/<hex>" is appended),
  // "" when that replica is not alive. Unset: no peer is asked.
  std::function<std::string(const std::string& replica_id)> peer_url;
};

enum class Mode {
  Use,   // implicit: cached, may expire
  Pull,  // explicit: pinned
};

struct Resolved {
  Sha256 sha256;
  std::filesystem::path path;  // the published blob
  std::uint64_t size = 0;
  bool fetched = false;  // this call downloaded it
  bool changed = false;  // an update check found a new version
};

struct GcReport {
  std::vector<std::string> removed;  // "image/kind@<sha256 prefix>"
  std::uint64_t blobs_removed = 0;
  std::uint64_t bytes_freed = 0;
};

// A file made here (a captured disk), published as a new version of image/kind.
struct LocalFile {
  std::string image;
  std::string kind = "disk";
  std::filesystem::path file;  // in blobs().tmpDir(): moved into the store, or removed on failure
  Sha256 expected;             // the sha256 the file must have
  std::string source;          // kept as the version's url ("capture://node-1")
  std::string metadata_json;   // kept beside the blob (metadataOf); empty: none
  bool pinned = true;          // never expires
};

// One background update check (Catalog::check).
struct CheckOptions {
  std::string owner;  // who claims the check: a replica id, or host:pid
  std::chrono::milliseconds claim_for{15 * 60 * 1000};  // a claim older than this lapses
  std::int64_t jitter_ms = 0;  // the next check is due interval + this after this one
  const std::atomic<bool>* cancel = nullptr;  // set: a download under way stops (skipped)
};

struct CheckReport {
  std::string result;    // "unchanged", "updated", "failed", or "skipped" (not done here)
  std::string reason{};  // skipped: not_cached, claimed, not_due, cancelled; failed: the code
  std::string detail{};  // failed: the error's message
  std::optional<Sha256> current{};  // the current version after the check
  std::int64_t checked_ms = 0;      // when upstream was last asked (here or elsewhere)
};

struct VerifyRow {
  std::string what;  // "image/kind@<sha256 prefix>"
  Status status;
};

class Catalog {
 public:
  explicit Catalog(Options options);

  Status init();

  // The current version of `spec`, fetched when not cached and re-checked upstream when
  // its update interval has passed (a failed re-check keeps the cached version). Marks it
  // used; Mode::Pull also pins it. Error codes: those of fetch::download,
  // verify::checkFile (sha256_mismatch, signature_mismatch), untrusted_key.
  Result<Resolved> ensure(const ArtifactSpec& spec, Mode mode = Mode::Use);

  // Asks upstream now, whatever the interval. Same codes, plus upstream_changed when the
  // declared sha256 pins content upstream no longer serves.
  Result<Resolved> refresh(const ArtifactSpec& spec);

  // A given version, when cached (no network). Marks it used. Code not_cached.
  Result<Resolved> version(const std::string& image, const std::string& kind, const Sha256& digest);

  // The background update check of one artifact (images/catalog/updater.hpp): claims it on
  // the index (compare-and-swap: another process or replica holding a live claim, or having
  // checked within the interval, makes this one "skipped"), asks upstream with the current
  // version's validators, verifies and publishes new content as the current version, and
  // records the outcome on the artifact's events (checked_ms is set on failure too, so a
  // failed check is retried at the next interval). Only cached artifacts are checked.
  // Failures are values in the report, counted in image_checks_total{result}.
  CheckReport check(const ArtifactSpec& spec, const CheckOptions& options);

  // Background collection: versions of `declared` artifacts that have an expire, unused for
  // longer than it, are removed from the index with a "collected" event, unless pinned,
  // current, or in `keep` (sha256 hex of versions that pending installs name). Then this
  // store's blobs of collected versions (by this process or another replica) that no
  // version references are deleted. Versions of undeclared artifacts are left to gc().
  Result<GcReport> collect(const std::vector<ArtifactSpec>& declared,
                           const std::set<std::string>& keep);

  // Whether ensure() asks upstream itself once the interval has passed (the default); off
  // while a background updater does it, so no request waits on upstream.
  void setCheckOnUse(bool on) { check_on_use_.store(on, std::memory_order_relaxed); }

  Result<store::IndexData> list() const;
  // Removes unpinned versions unused for longer than their artifact's expire (versions of
  // artifacts no longer declared go whatever their age unless pinned), except those in
  // `keep` (sha256 hex of versions pending installs name), then blobs no version refers to.
  Result<GcReport> gc(const std::vector<ArtifactSpec>& declared,
                      const std::set<std::string>& keep = {});
  // Forgets every version of an image, pinned or not, and deletes blobs left unreferenced.
  Result<GcReport> remove(const std::string& image);
  // The detached signature a blob was verified with when it was published (raw bytes).
  // Code not_signed.
  Result<std::vector<std::uint8_t>> signatureOf(const Sha256& digest) const;

  // Publishes a local file as the newest version of `f.image`/`f.kind`: the sha256 is
  // checked, the blob moved in atomically (fsync + rename), then the index gains the
  // version. On any failure the file is removed and nothing is published. Codes:
  // sha256_mismatch, eio, those of the index.
  Result<Resolved> publishLocal(const LocalFile& f);
  // What publishLocal kept beside a blob (JSON text). Code not_found.
  Result<std::string> metadataOf(const Sha256& digest) const;

  // A blob this store holds and the index names (the endpoint other replicas fetch from):
  // never fetched here, so two replicas cannot ask each other in a loop. Code not_cached.
  Result<Resolved> localBlob(const Sha256& digest) const;

  // A blob the index names but this store lacks: fetched by digest from a live replica
  // that holds it (in id order), else from `upstream` (http or https; a capture:// source
  // has none), each hashed as it arrives; a source that sends other bytes is refused
  // (image_peer_refused_total) and the next one tried. Concurrent calls for one digest
  // share one fetch. Codes: not_cached (no source had it), those of fetch::fetchVerified.
  Result<Resolved> obtain(const Sha256& digest, std::uint64_t size, const std::string& upstream);

  // Re-hashes every cached version's blob (with shared metadata: those this store holds).
  std::vector<VerifyRow> verifyAll() const;

  const store::BlobStore& blobs() const { return blobs_; }

 private:
  Result<Resolved> ensureOnce(const ArtifactSpec& spec, Mode mode);
  // Runs `work` for `key` unless a call for the same key is under way, whose result is
  // then shared (`*shared` says which happened).
  Result<Resolved> singleFlight(const std::string& key,
                                const std::function<Result<Resolved>()>& work,
                                bool* shared = nullptr);
  Result<Resolved> fetchVersion(const ArtifactSpec& spec, const store::Version* validators,
                                const std::atomic<bool>* cancel = nullptr);
  // fetchVersion under the artifact's download lock (one download across processes).
  Result<Resolved> fetchLocked(const ArtifactSpec& spec, const store::Version* validators,
                               const std::atomic<bool>* cancel);
  bool usedLately(const std::string& image, const std::string& kind, const Sha256& digest,
                  bool pin) const;
  Result<Resolved> markUsed(const ArtifactSpec& spec, const Sha256& digest, Mode mode, Resolved r);
  Result<GcReport> sweep(
      const std::function<bool(const store::Entry&, const store::Version&)>& drop);
  Result<Resolved> obtainOnce(const Sha256& digest, std::uint64_t size,
                              const std::string& upstream);
  Result<Resolved> fetchFrom(const std::string& url, const Sha256& digest, std::uint64_t size);
  // Records this replica as a holder of `digest` (once per process and digest).
  void advertise(const Sha256& digest);
  std::int64_t now() const;

  Options options_;
  store::BlobStore blobs_;
  std::shared_ptr<store::Metadata> meta_;
  std::mutex mu_;
  std::map<std::string, std::shared_future<Result<Resolved>>> inflight_;
  std::set<std::string> advertised_;  // digests recorded as held here
  std::uint64_t fetch_seq_ = 0;
  std::atomic<bool> check_on_use_{true};
};

// "image/kind@0123456789ab"
std::string describe(const std::string& image, const std::string& kind, const Sha256& digest);

}  // namespace drover::images::catalog
