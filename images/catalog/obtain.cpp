// Catalog::obtain: a blob the shared index names, fetched by digest from another replica
// or from upstream (the rest of the catalog is in catalog.cpp).
#include <unistd.h>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "images/catalog/catalog.hpp"
#include "images/catalog/internal.hpp"
#include "images/fetch/verified.hpp"

namespace drover::images::catalog {

namespace {

using internal::logger;

void countPeer(std::string_view what, const std::string& reason) {
  metrics::Registry::global()
      .counter(std::string(what),
               what == "image_peer_refused_total"
                   ? "Blobs refused from another replica or upstream, by reason"
                   : "Blobs fetched by digest from another replica or upstream, by source",
               fmt::format("{}=\"{}\"", what == "image_peer_refused_total" ? "reason" : "source",
                           reason))
      .fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

Result<Resolved> Catalog::localBlob(const Sha256& digest) const {
  auto index = meta_->read();
  if (!index) return index.error();
  if (!blobs_.has(digest) || !index->references(digest))
    return makeError("not_cached", describe("blob", "sha256", digest) + " is not held here");
  return Resolved{digest, blobs_.blobPath(digest), blobs_.size(digest).value_or(0)};
}

Result<Resolved> Catalog::obtain(const Sha256& digest, std::uint64_t size,
                                 const std::string& upstream) {
  return singleFlight("blob:" + digest.hex(), [&] { return obtainOnce(digest, size, upstream); });
}

Result<Resolved> Catalog::obtainOnce(const Sha256& digest, std::uint64_t size,
                                     const std::string& upstream) {
  if (blobs_.has(digest))
    return Resolved{digest, blobs_.blobPath(digest), blobs_.size(digest).value_or(0)};
  std::vector<std::string> sources;
  if (options_.peer_url) {
    auto holders = meta_->holders(digest);
    if (!holders) {
      logger()->warn("IMAGE_HOLDERS_UNAVAILABLE sha256={} code={} error={}", digest.hex(),
                     holders.error().code, holders.error().message);
    } else {
      for (const auto& id : *holders) {
        if (id == options_.replica_id) continue;  // said so once, and lost it since
        const std::string base = options_.peer_url(id);
        if (!base.empty()) sources.push_back(base + "/blobs/sha256/" + digest.hex());
      }
    }
  }
  const bool has_upstream = upstream.starts_with("http://") || upstream.starts_with("https://");
  if (has_upstream) sources.push_back(upstream);
  Error last = makeError("not_cached", describe("blob", "sha256", digest) +
                                           " is held by no live replica and has no upstream");
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const bool peer = !has_upstream || i + 1 < sources.size();
    auto got = fetchFrom(sources[i], digest, size);
    if (got) {
      countPeer("image_blob_fetches_total", peer ? "peer" : "upstream");
      logger()->info("IMAGE_BLOB_FETCHED sha256={} bytes={} from={}", digest.hex(), got->size,
                     sources[i]);
      advertise(digest);
      return got;
    }
    last = got.error();
    if (got.error().code == "sha256_mismatch") {
      countPeer("image_peer_refused_total",
                peer ? "peer_sha256_mismatch" : "upstream_sha256_mismatch");
      logger()->warn("IMAGE_PEER_REFUSED sha256={} from={} error={}", digest.hex(), sources[i],
                     got.error().message);
    } else {
      countPeer("image_peer_refused_total", peer ? "peer_unavailable" : "upstream_unavailable");
      logger()->warn("IMAGE_PEER_UNAVAILABLE sha256={} from={} code={} error={}", digest.hex(),
                     sources[i], got.error().code, got.error().message);
    }
  }
  return last;
}

Result<Resolved> Catalog::fetchFrom(const std::string& url, const Sha256& digest,
                                    std::uint64_t size) {
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    seq = ++fetch_seq_;
  }
  fetch::VerifiedRequest req;
  req.url = url;
  req.file = blobs_.tmpDir() / fmt::format("{}.{}.{}.fetch", digest.hex(), ::getpid(), seq);
  req.expected = digest;
  req.size = size;
  req.ca_file = options_.ca_file;
  if (auto st = fetch::fetchVerified(req); !st) return st.error();
  if (auto st = blobs_.publishHashed(req.file, digest); !st) return st.error();
  return Resolved{digest, blobs_.blobPath(digest), blobs_.size(digest).value_or(size), true, false};
}

}  // namespace drover::images::catalog
