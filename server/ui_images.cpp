// GET /v1/ui/images: the catalog as the dashboard's Images page shows it (server/ui_routes.hpp,
// docs/api.md): every declared artifact with its cached versions, when each unused version
// expires, and the background update checks of the url-declared ones.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/image_updates.hpp"
#include "server/server_files.hpp"
#include "server/ui_routes.hpp"

namespace drover::server {
namespace {

using http::Response;
using HttpStatus = http::Status;
using nlohmann::json;
namespace catalog = images::catalog;

constexpr std::size_t kEventsShown = 5;  // the latest events of an artifact, newest first

std::int64_t toMs(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}

// Why a cached version is never collected, or when it will be (Catalog::collect): the
// current one, pinned ones and those a pending install names are kept; the others go once
// unused for `expire` (0: never).
void addExpiry(json& row, const images::store::Version& v, bool current,
               const std::optional<catalog::ArtifactSpec>& spec,
               const std::set<std::string>* installing) {
  if (v.pinned)
    row["kept"] = "pinned";
  else if (current)
    row["kept"] = "current";
  else if (installing != nullptr && installing->contains(v.sha256.hex()))
    row["kept"] = "install";
  if (!spec || spec->expire.count() <= 0) return;
  row["expire_s"] = spec->expire.count();
  if (!row.contains("kept"))
    row["expires_ms"] = std::max(v.used_ms, v.fetched_ms) + toMs(spec->expire);
}

json checkOf(const catalog::ArtifactSpec& spec, const images::store::Entry* e) {
  json c = {{"image", spec.image},
            {"kind", spec.kind},
            {"interval_s", spec.interval.count()},
            {"expire_s", spec.expire.count()},
            {"cached", e != nullptr && e->current() != nullptr},
            {"checked_ms", e ? e->checked_ms : 0},
            {"last_result", e ? e->last_result : ""},
            {"last_error", e ? e->last_error : ""},
            {"versions", e ? e->versions.size() : 0}};
  // The index has the next check once the background has made one; before that (fetched
  // by a first use or a pull) it is due an interval after the fetch, plus a jitter of at
  // most a tenth of the interval.
  std::int64_t next = e ? e->next_check_ms : 0;
  bool estimated = false;
  if (next == 0 && e != nullptr && e->current() != nullptr && spec.interval.count() > 0 &&
      e->checked_ms > 0) {
    next = e->checked_ms + toMs(spec.interval);
    estimated = true;
  }
  c["next_check_ms"] = next;
  if (estimated) c["next_check_estimated"] = true;
  json events = json::array();
  if (e != nullptr)
    for (auto it = e->events.rbegin(); it != e->events.rend() && events.size() < kEventsShown;
         ++it) {
      json j{{"ts", it->ts_ms}, {"event", it->event}};
      if (!it->sha256.empty()) j["sha256"] = it->sha256;
      if (!it->detail.empty()) j["detail"] = it->detail;
      if (it->count != 1) {
        j["count"] = it->count;
        j["first_ts"] = it->first_ms;
      }
      events.push_back(std::move(j));
    }
  c["events"] = std::move(events);
  return c;
}

}  // namespace

Response uiImages(Context& ctx) {
  auto snapshot = ctx.source.current();
  const auto& config = snapshot->inventory.config();
  auto& cat = serveCatalog(config);
  auto index = cat.list();
  if (!index)
    return Response::error(HttpStatus::internal_server_error, "catalog_error",
                           index.error().message);
  // What pending installs name; when the store cannot say, no version is shown as kept for
  // an install (collection itself then removes nothing).
  auto pending = pendingInstallVersions(ctx.store);
  const std::set<std::string>* installing = pending ? &*pending : nullptr;

  json rows = json::array();
  auto row = [&](const ImageRow& ir, std::string_view source) {
    json r = imageRowJson(ir, source);
    r["cached"] = ir.version != nullptr;
    if (const auto* v = ir.version) {
      r["url"] = v->url;
      addExpiry(r, *v, ir.current, catalogSpec(config, ir.image, ir.kind), installing);
    }
    rows.push_back(r);
  };
  forEachImageRow(config, *index, [&](const ImageRow& r) {
    if (r.artifact != nullptr && !r.artifact->url) {
      json local = {{"image", r.image}, {"kind", r.kind}, {"source", "local"}, {"cached", false}};
      std::error_code ec;
      const auto size = std::filesystem::file_size(r.artifact->path, ec);
      if (!ec) local["size"] = size;
      if (r.artifact->sha256) local["sha256"] = r.artifact->sha256->hex();
      rows.push_back(local);
      return;
    }
    row(r, r.artifact != nullptr ? "url" : "undeclared");
  });

  // The background checks (and collection) of each url-declared artifact with an update
  // policy, or that was checked before its policy was dropped.
  json checks = json::array();
  for (const auto& spec : catalogSpecs(config)) {
    const auto* e = index->find(spec.image, spec.kind);
    if (spec.interval.count() == 0 && spec.expire.count() == 0 &&
        (e == nullptr || e->last_result.empty()))
      continue;
    checks.push_back(checkOf(spec, e));
  }
  return Response::json(HttpStatus::ok, json{{"images", rows}, {"checks", checks}}.dump());
}

}  // namespace drover::server
