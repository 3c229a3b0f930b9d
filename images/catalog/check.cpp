// Catalog::check and Catalog::collect: the background update check of one artifact and the
// background collection of expired versions (images/catalog/updater.hpp schedules them; the
// rest of the catalog is in catalog.cpp).
#include <algorithm>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "images/catalog/catalog.hpp"
#include "images/catalog/internal.hpp"

namespace drover::images::catalog {

namespace {

using internal::logger;

void countCheck(const std::string& result) {
  metrics::Registry::global()
      .counter("image_checks_total", "Background update checks of cached images, by result",
               fmt::format("result=\"{}\"", result))
      .fetch_add(1, std::memory_order_relaxed);
}

using internal::toMs;

// The change function's way of saying "write nothing": Metadata::update writes nothing when
// the change fails.
constexpr std::string_view kSkip = "check_skipped";

}  // namespace

CheckReport Catalog::check(const ArtifactSpec& spec, const CheckOptions& options) {
  CheckReport report;
  const std::int64_t t = now();
  const std::int64_t interval_ms = toMs(spec.interval);
  std::optional<store::Version> validators;
  std::string skip;
  auto claimed = meta_->update([&](store::IndexData& d) -> Status {
    skip.clear();
    validators.reset();
    auto it = d.entries.find(store::IndexData::key(spec.image, spec.kind));
    if (it == d.entries.end() || it->second.current() == nullptr) skip = "not_cached";
    if (skip.empty()) {
      auto& e = it->second;
      report.checked_ms = e.checked_ms;
      report.current = e.current()->sha256;
      if (e.claim_until_ms > t && e.claim_owner != options.owner)
        skip = "claimed";
      else if (interval_ms > 0 && e.checked_ms + interval_ms > t)
        skip = "not_due";
      if (skip.empty()) {
        e.claim_owner = options.owner;
        e.claim_until_ms = t + options.claim_for.count();
        validators = *e.current();
      }
    }
    if (!skip.empty()) return makeError(std::string(kSkip), skip);
    return Status::success();
  });
  if (!claimed && claimed.error().code == kSkip) {
    report.result = "skipped";
    report.reason = skip;
    return report;
  }
  if (!claimed) {
    report.result = "failed";
    report.reason = claimed.error().code;
    report.detail = claimed.error().message;
    countCheck("failed");
    logger()->warn("IMAGE_CHECK_FAILED image={} kind={} code={} error={}", spec.image, spec.kind,
                   report.reason, report.detail);
    return report;
  }

  // The check itself; a use of the artifact that is fetching it meanwhile shares its result.
  auto got = singleFlight(store::IndexData::key(spec.image, spec.kind),
                          [&] { return fetchLocked(spec, &*validators, options.cancel); });
  if (!got && got.error().code == "sha256_mismatch" && spec.sha256)
    got = makeError("upstream_changed",
                    fmt::format("upstream serves new content but the declared sha256 pins {}; "
                                "update the declaration to take it ({})",
                                spec.sha256->hex(), got.error().message));

  if (!got && got.error().code == "cancelled") {  // stopping: nothing to record but the claim
    (void)meta_->update([&](store::IndexData& d) {
      auto& e = d.entry(spec.image, spec.kind);
      if (e.claim_owner == options.owner) {
        e.claim_owner.clear();
        e.claim_until_ms = 0;
      }
      return Status::success();
    });
    report.result = "skipped";
    report.reason = "cancelled";
    return report;
  }
  const std::int64_t done = now();
  store::Event event;
  event.ts_ms = done;
  if (!got) {
    report.result = "failed";
    report.reason = got.error().code;
    report.detail = got.error().message;
    event.event = "failed";
    event.sha256 = validators->sha256.hex();
    event.detail = fmt::format("{}: {}", report.reason, report.detail);
  } else {
    const bool changed = got->sha256 != validators->sha256;
    report.result = changed ? "updated" : "unchanged";
    event.event = report.result;
    event.sha256 = got->sha256.hex();
  }
  auto st = meta_->update([&](store::IndexData& d) {
    auto& e = d.entry(spec.image, spec.kind);
    e.checked_ms = done;
    e.last_result = report.result;
    e.last_error = event.detail;
    e.next_check_ms = done + interval_ms + options.jitter_ms;
    if (e.claim_owner == options.owner) {
      e.claim_owner.clear();
      e.claim_until_ms = 0;
    }
    e.addEvent(event);
    if (e.current() != nullptr) report.current = e.current()->sha256;
    return Status::success();
  });
  report.checked_ms = done;
  countCheck(report.result);
  if (!st)
    logger()->warn("IMAGE_CHECK_NOT_RECORDED image={} kind={} code={} error={}", spec.image,
                   spec.kind, st.error().code, st.error().message);
  if (report.result == "failed")
    logger()->warn("IMAGE_CHECK_FAILED image={} kind={} code={} error={}", spec.image, spec.kind,
                   report.reason, report.detail);
  else
    logger()->info("IMAGE_CHECKED image={} kind={} result={} current={}", spec.image, spec.kind,
                   report.result, report.current ? report.current->hex().substr(0, 12) : "-");
  return report;
}

Result<GcReport> Catalog::collect(const std::vector<ArtifactSpec>& declared,
                                  const std::set<std::string>& keep) {
  std::map<std::string, std::int64_t> expire;
  for (const auto& s : declared)
    if (s.expire.count() > 0) expire[store::IndexData::key(s.image, s.kind)] = toMs(s.expire);
  const std::int64_t t = now();
  auto drop = [&](const store::Entry& e, const Sha256& current, const store::Version& v) {
    auto it = expire.find(store::IndexData::key(e.image, e.kind));
    if (it == expire.end() || v.pinned || v.sha256 == current) return false;
    if (keep.contains(v.sha256.hex())) return false;
    return t - std::max(v.used_ms, v.fetched_ms) > it->second;
  };
  auto index = meta_->read();
  if (!index) return index.error();
  bool any = false;
  for (const auto& [k, e] : index->entries)
    for (const auto& v : e.versions)
      if (e.current() != nullptr && drop(e, e.current()->sha256, v)) any = true;

  GcReport report;
  if (any) {
    auto st = meta_->update([&](store::IndexData& d) {
      report = GcReport{};  // runs again when another replica wrote meanwhile
      for (auto& [k, e] : d.entries) {
        if (e.current() == nullptr) continue;
        const Sha256 current = e.current()->sha256;
        std::vector<Sha256> gone;
        std::erase_if(e.versions, [&](const store::Version& v) {
          if (!drop(e, current, v)) return false;
          gone.push_back(v.sha256);
          report.removed.push_back(describe(e.image, e.kind, v.sha256));
          return true;
        });
        for (const auto& g : gone) {
          store::Event ev;
          ev.ts_ms = t;
          ev.event = "collected";
          ev.sha256 = g.hex();
          e.addEvent(std::move(ev));
        }
      }
      return Status::success();
    });
    if (!st) return st.error();
    metrics::Registry::global()
        .counter("image_collected_total", "Image versions collected after their expire")
        .fetch_add(report.removed.size(), std::memory_order_relaxed);
    for (const auto& what : report.removed) logger()->info("IMAGE_COLLECTED version={}", what);
    index = meta_->read();
    if (!index) return index.error();
  }

  // This store's copies of collected versions, whoever collected them.
  std::set<std::string> seen;
  for (const auto& [k, e] : index->entries)
    for (const auto& ev : e.events) {
      if (ev.event != "collected" || !seen.insert(ev.sha256).second) continue;
      auto digest = Sha256::parse(ev.sha256);
      if (!digest || !blobs_.has(*digest) || index->references(*digest)) continue;
      const auto size = blobs_.size(*digest).value_or(0);
      if (!blobs_.remove(*digest)) continue;
      ++report.blobs_removed;
      report.bytes_freed += size;
      (void)meta_->removeSidecars(*digest);
      (void)meta_->removeHolder(*digest, options_.replica_id);
      std::lock_guard lock(mu_);
      advertised_.erase(digest->hex());
    }
  if (report.bytes_freed > 0)
    metrics::Registry::global()
        .counter("image_collected_bytes_total", "Bytes of blobs deleted by background collection")
        .fetch_add(report.bytes_freed, std::memory_order_relaxed);
  return report;
}

}  // namespace drover::images::catalog
