#include "server/capture_api.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <variant>

#include <fmt/format.h>

#include "boot/decision.hpp"
#include "cluster/names.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "images/catalog/capture_digest.hpp"
#include "server/api_auth.hpp"
#include "server/server_files.hpp"
#include "state/tokens.hpp"

namespace drover::server {
namespace {

using http::Request;
using http::Response;
using HttpStatus = http::Status;
using nlohmann::json;
namespace fs = std::filesystem;

// Upload pieces of one node are appended under this lock (uploads are rare and short).
std::mutex g_upload_mu;

void countDrop(Context& ctx, std::string_view reason) {
  ctx.registry.counter("capture_drops_total", "Capture uploads refused, by reason",
                       fmt::format("reason=\"{}\"", reason))++;
}

fs::path partialFile(const cluster::Config& c, const std::string& node) {
  return serveCatalog(c).blobs().tmpDir() / ("capture-" + node + ".partial");
}

const cluster::Profile* profileOf(const boot::Snapshot& s, const std::string& node) {
  const auto* decl = s.inventory.findNode(node);
  if (decl == nullptr) return nullptr;
  const auto& c = s.inventory.config();
  return c.findProfile(c.profileNameOf(*decl));
}

// Ends the capture in the record (flag, image and token cleared) with one timeline entry.
Result<state::NodeRecord> endCapture(Context& ctx, const std::string& node, std::string phase, std::string message) {
  return ctx.store.updateNode(
      node,
      [&](const std::optional<state::NodeRecord>& cur) -> Result<state::NodeRecord> {
        if (!cur) return makeError("not_found", "no such node");
        auto next = state::transition(cur->status, state::NodeEvent::kCaptureFinished);
        if (!next) return next.error();
        auto r = *cur;
        r.status = *next;
        r.capture_image.clear();
        r.capture_token_hash.clear();
        return r;
      },
      {{state::nowMs(), std::move(phase), std::move(message)}});
}

// A capture that ends without a new version: nothing published, the partial upload
// removed, the drop counted, the reason in the node's timeline.
Response refuseCapture(Context& ctx, const std::string& node, std::string_view reason, const std::string& message) {
  auto snapshot = ctx.source.current();
  {
    std::lock_guard lock(g_upload_mu);
    std::error_code ec;
    fs::remove(partialFile(snapshot->inventory.config(), node), ec);
  }
  countDrop(ctx, reason);
  ctx.log->warn("CAPTURE_REFUSED node={} reason={} error=\"{}\"", node, reason, log::sanitize(message, 300));
  (void)endCapture(ctx, node, "capture_failed", fmt::format("{}: {}", reason, message));
  return Response::error(HttpStatus::unprocessable_entity, reason, message);
}

// The caller of a capture route: the node whose capture token the bearer is.
struct Caller {
  std::string node;
  state::NodeRecord record;
};

std::variant<Caller, Response> captureCaller(const Request& req, Context& ctx, AuthGuard& auth) {
  if (auto t = auth.throttled(req)) return std::move(*t);
  auto refuse = [&](std::string_view reason, std::string_view message) {
    countDrop(ctx, "bad_token");
    return auth.fail(req, reason, message);
  };
  const auto token = bearerToken(req);
  if (token.empty()) return refuse("missing", "a capture token is required");
  const auto dot = token.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == token.size()) return refuse("malformed", "malformed token");
  Caller c{token.substr(0, dot), {}};
  auto rec = ctx.store.getNode(c.node);
  if (!rec) return Response::error(HttpStatus::internal_server_error, "store_error", rec.error().message);
  // Every refusal below looks the same to the caller, and the hash is always compared.
  const std::string hash = state::hashToken(std::string_view(token).substr(dot + 1));
  const std::string expected = *rec ? (*rec)->capture_token_hash : std::string(64, '0');
  const bool match = state::constantTimeEquals(hash, expected);
  if (!*rec || !match || expected.empty() || !(*rec)->status.capture_requested) {
    return refuse("invalid", "invalid capture token");
  }
  c.record = **rec;
  return c;
}

std::optional<std::uint64_t> parseOffset(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 19) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Response uploadPiece(const Request& req, Context& ctx, AuthGuard& auth) {
  auto who = captureCaller(req, ctx, auth);
  if (auto* r = std::get_if<Response>(&who)) return std::move(*r);
  const auto& node = std::get<Caller>(who).node;
  auto offset = parseOffset(req.queryOr("offset"));
  if (!offset) {
    countDrop(ctx, "bad_offset");
    return Response::error(HttpStatus::bad_request, "bad_offset", "offset must be a byte count");
  }
  auto snapshot = ctx.source.current();
  const fs::path file = partialFile(snapshot->inventory.config(), node);
  std::lock_guard lock(g_upload_mu);
  const UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) {
    ctx.log->error("CAPTURE_WRITE_FAILED node={} file={} error={}", node, file.string(), std::strerror(errno));
    return Response::error(HttpStatus::internal_server_error, "eio", "cannot open the upload file");
  }
  struct stat st {};
  ::fstat(fd.get(), &st);
  const auto have = static_cast<std::uint64_t>(st.st_size);
  if (*offset > have) {
    countDrop(ctx, "offset_gap");
    return Response::json(HttpStatus::conflict,
                          json{{"error", "offset_mismatch"},
                               {"message", fmt::format("the upload has {} bytes; send from there", have)},
                               {"size", have}}
                              .dump());
  }
  // A piece sent again (its reply was lost): what followed it is dropped and rewritten.
  if (*offset < have && ::ftruncate(fd.get(), static_cast<off_t>(*offset)) != 0) {
    return Response::error(HttpStatus::internal_server_error, "eio", std::strerror(errno));
  }
  const auto& body = req.body();
  std::size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = ::pwrite(fd.get(), body.data() + done, body.size() - done,
                               static_cast<off_t>(*offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ctx.log->error("CAPTURE_WRITE_FAILED node={} file={} error={}", node, file.string(), std::strerror(errno));
      return Response::error(HttpStatus::insufficient_storage, "eio", std::string("write: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  ctx.registry.counter("capture_upload_bytes_total", "Bytes of captured disks received")
      .fetch_add(body.size(), std::memory_order_relaxed);
  return Response::json(HttpStatus::ok, json{{"size", *offset + body.size()}}.dump());
}

std::optional<Sha256> digestField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  auto d = Sha256::parse(it->get<std::string>());
  if (!d) return std::nullopt;
  return *d;
}

std::optional<std::uint64_t> sizeField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

Response finish(const Request& req, Context& ctx, AuthGuard& auth) {
  auto who = captureCaller(req, ctx, auth);
  if (auto* r = std::get_if<Response>(&who)) return std::move(*r);
  const auto& [node, record] = std::get<Caller>(who);
  const auto body = json::parse(req.body(), nullptr, false);
  std::optional<Sha256> sha, raw_sha;
  std::optional<std::uint64_t> size, raw_size;
  if (body.is_object()) {
    sha = digestField(body, "sha256");
    raw_sha = digestField(body, "raw_sha256");
    size = sizeField(body, "size");
    raw_size = sizeField(body, "raw_size");
  }
  if (!sha || !raw_sha || !size || !raw_size) {
    return refuseCapture(ctx, node, "bad_finish", "finish needs sha256, size, raw_sha256 and raw_size");
  }
  auto snapshot = ctx.source.current();
  const auto& c = snapshot->inventory.config();
  const fs::path file = partialFile(c, node);
  std::error_code ec;
  const auto have = fs::file_size(file, ec);
  if (ec) return refuseCapture(ctx, node, "truncated", "no upload arrived");
  if (have != *size) {
    return refuseCapture(ctx, node, "truncated", fmt::format("{} bytes arrived, the agent sent {}", have, *size));
  }
  // Reading the whole upload back takes a while for a large disk: say so.
  ctx.log->info("CAPTURE_VERIFYING node={} image={} bytes={}", node, record.capture_image, have);
  auto got = images::catalog::digestZstdFile(file);
  if (!got) return refuseCapture(ctx, node, got.error().code, got.error().message);
  if (got->sha256 != *sha) {
    return refuseCapture(ctx, node, "sha256_mismatch",
                         fmt::format("the upload hashes to {}, the agent declared {}", got->sha256.hex(), sha->hex()));
  }
  if (got->raw_sha256 != *raw_sha || got->raw_size != *raw_size) {
    return refuseCapture(ctx, node, "raw_sha256_mismatch",
                         fmt::format("the upload decompresses to {} bytes with sha256 {}, the agent read {} bytes "
                                     "with sha256 {}",
                                     got->raw_size, got->raw_sha256.hex(), *raw_size, raw_sha->hex()));
  }
  const json meta = {{"format", "raw.zst"},          {"raw_sha256", got->raw_sha256.hex()},
                     {"raw_size", got->raw_size},    {"node", node},
                     {"captured_ms", state::nowMs()}};
  images::catalog::LocalFile lf;
  lf.image = record.capture_image;
  lf.file = file;
  lf.expected = got->sha256;
  lf.source = "capture://" + node;
  lf.metadata_json = meta.dump();
  Result<images::catalog::Resolved> published = makeError("eio", "unset");
  {
    std::lock_guard lock(g_upload_mu);
    published = serveCatalog(c).publishLocal(lf);
  }
  if (!published) return refuseCapture(ctx, node, published.error().code, published.error().message);
  const std::string version = published->sha256.hex().substr(0, 12);
  ctx.registry.counter("captures_published_total", "Captured disks published as image versions")++;
  ctx.log->info("CAPTURE_PUBLISHED node={} image={} sha256={} bytes={} raw_sha256={} raw_bytes={}", node,
                lf.image, published->sha256.hex(), published->size, got->raw_sha256.hex(), got->raw_size);
  auto ended = endCapture(ctx, node, "captured",
                          fmt::format("image {} version {}: {} bytes of disk as {} bytes of zstd, raw sha256 {}",
                                      lf.image, version, got->raw_size, published->size, got->raw_sha256.hex()));
  if (!ended) return Response::error(HttpStatus::internal_server_error, "store_error", ended.error().message);
  return Response::json(HttpStatus::ok, json{{"image", lf.image},
                                             {"version", version},
                                             {"sha256", published->sha256.hex()},
                                             {"raw_sha256", got->raw_sha256.hex()},
                                             {"state", state::toString(ended->status.state)}}
                                            .dump());
}

Response abort(const Request& req, Context& ctx, AuthGuard& auth) {
  auto who = captureCaller(req, ctx, auth);
  if (auto* r = std::get_if<Response>(&who)) return std::move(*r);
  const auto body = json::parse(req.body(), nullptr, false);
  std::string why = body.is_object() && body.contains("message") && body["message"].is_string()
                        ? body["message"].get<std::string>().substr(0, 1024)
                        : std::string("the agent gave up");
  (void)refuseCapture(ctx, std::get<Caller>(who).node, "agent_abort", why);
  return Response::json(HttpStatus::ok, "{}");
}

}  // namespace

Response requestCapture(Context& ctx, const std::string& node, const std::string& image_arg) {
  const std::string image = image_arg.empty() ? node + "-capture" : image_arg;
  if (auto ok = cluster::checkName(image); !ok) {
    return Response::error(HttpStatus::bad_request, "bad_image", ok.error().message);
  }
  auto snapshot = ctx.source.current();
  const auto& c = snapshot->inventory.config();
  auto existing = ctx.store.getNode(node);
  if (!existing) return Response::error(HttpStatus::internal_server_error, "store_error", existing.error().message);
  if (!*existing) {
    if (!snapshot->inventory.findNode(node)) return Response::error(HttpStatus::not_found, "not_found", "no such node");
    return Response::error(HttpStatus::conflict, "not_installed", "the node has never booted: nothing to capture");
  }
  // A url image whose declaration pins no sha256 serves its newest version: a capture
  // into it would change what every node of that image installs.
  if (const auto* declared = c.findImage(image); declared && declared->disk && declared->disk->url &&
                                                  !declared->disk->sha256) {
    return Response::error(HttpStatus::conflict, "image_declared",
                           fmt::format("image {} is declared with a url and no sha256; capture into another name",
                                       image));
  }
  auto rec = ctx.store.updateNode(
      node,
      [&](const std::optional<state::NodeRecord>& cur) -> Result<state::NodeRecord> {
        if (!cur) return makeError("not_installed", "the node has never booted: nothing to capture");
        auto next = state::transition(cur->status, state::NodeEvent::kCaptureRequested);
        if (!next) {
          return makeError("not_installed", fmt::format("a {} node has no installed disk to capture",
                                                        state::toString(cur->status.state)));
        }
        auto r = *cur;
        r.status = *next;
        r.capture_image = image;
        r.capture_token_hash.clear();
        return r;
      },
      {{state::nowMs(), "capture_requested", "operator asked for a capture of the disk into image " + image}});
  if (!rec) {
    if (rec.error().code == "not_installed")
      return Response::error(HttpStatus::conflict, "not_installed", rec.error().message);
    return Response::error(HttpStatus::internal_server_error, "store_error", rec.error().message);
  }
  ctx.log->info("NODE_CAPTURE_REQUESTED node={} image={}", node, image);
  return Response::json(HttpStatus::ok, json{{"node", node},
                                             {"capture", image},
                                             {"state", state::toString(rec->status.state)}}
                                            .dump());
}

Response cancelCapture(Context& ctx, const std::string& node) {
  auto rec = ctx.store.getNode(node);
  if (!rec) return Response::error(HttpStatus::internal_server_error, "store_error", rec.error().message);
  if (!*rec || !(*rec)->status.capture_requested) {
    return Response::error(HttpStatus::conflict, "no_capture", "no capture is pending for this node");
  }
  auto snapshot = ctx.source.current();
  {
    std::lock_guard lock(g_upload_mu);
    std::error_code ec;
    fs::remove(partialFile(snapshot->inventory.config(), node), ec);
  }
  auto ended = endCapture(ctx, node, "capture_cancelled", "operator cancelled the capture");
  if (!ended) return Response::error(HttpStatus::internal_server_error, "store_error", ended.error().message);
  ctx.log->info("NODE_CAPTURE_CANCELLED node={}", node);
  return Response::json(HttpStatus::ok, json{{"node", node}, {"capture", ""}}.dump());
}

std::optional<Response> captureRegister(Context& ctx, const std::string& node, const json& body) {
  auto rec = ctx.store.getNode(node);
  if (!rec || !*rec || boot::scriptForState((*rec)->status) != boot::ScriptKind::kCapture)
    return std::nullopt;
  // Only an agent in capture mode says so; an installer that booted meanwhile is sent to
  // the local disk (never a reinstall, never a failure).
  const bool capturing = body.value("mode", "") == "capture";
  json facts = body;
  facts.erase("mode");
  auto updated = ctx.store.updateNode(
      node,
      [&](const std::optional<state::NodeRecord>& cur) -> Result<state::NodeRecord> {
        if (!cur) return makeError("not_found", node);
        auto r = *cur;
        r.facts_json = facts.dump();
        return r;
      },
      {{state::nowMs(), "registered",
        capturing ? "capture boot: the agent will read the disk into image " + (*rec)->capture_image
                  : std::string("an installer registered while a capture is pending: local disk")}});
  if (!updated) return Response::error(HttpStatus::internal_server_error, "store_error", updated.error().message);
  return Response::json(HttpStatus::ok, json{{"node", node},
                                             {"state", state::toString(updated->status.state)},
                                             {"action", capturing ? "capture" : "boot-local"}}
                                            .dump());
}

std::optional<Response> capturePlan(Context& ctx, const std::string& node) {
  auto rec = ctx.store.getNode(node);
  if (!rec || !*rec || boot::scriptForState((*rec)->status) != boot::ScriptKind::kCapture)
    return std::nullopt;
  auto snapshot = ctx.source.current();
  const auto& c = snapshot->inventory.config();
  const auto* profile = profileOf(*snapshot, node);
  const std::string disk = profile && profile->install ? profile->install->disk : std::string("/dev/sda");
  // A new plan starts a new upload: the previous token and partial file are dropped.
  const std::string secret = state::generateToken();
  auto updated = ctx.store.updateNode(
      node,
      [&](const std::optional<state::NodeRecord>& cur) -> Result<state::NodeRecord> {
        if (!cur || !cur->status.capture_requested) return makeError("no_capture", "the capture was cancelled");
        auto r = *cur;
        r.capture_token_hash = state::hashToken(secret);
        return r;
      },
      {{state::nowMs(), "plan", fmt::format("capture {} into image {}", disk, (*rec)->capture_image)}});
  if (!updated) return Response::error(HttpStatus::conflict, updated.error().code, updated.error().message);
  {
    std::lock_guard lock(g_upload_mu);
    std::error_code ec;
    fs::remove(partialFile(c, node), ec);
  }
  json capture = {{"image", updated->capture_image},
                  {"disk", disk},
                  {"upload_url", apiUrl(ctx, c) + "/v1/agent/capture"},
                  {"token", node + "." + secret},
                  {"chunk_bytes", kCaptureChunkBytes},
                  {"format", "raw.zst"}};
  return Response::json(HttpStatus::ok, json{{"action", "capture"}, {"capture", capture}}.dump());
}

std::optional<CapturedInfo> capturedInfo(const cluster::Config& config, const Sha256& digest) {
  auto text = serveCatalog(config).metadataOf(digest);
  if (!text) return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  CapturedInfo info;
  info.format = j.value("format", "raw.zst");
  info.raw_sha256 = j.value("raw_sha256", "");
  info.raw_size = j.value("raw_size", std::uint64_t{0});
  info.node = j.value("node", "");
  return info;
}

void addCaptureUploadRoutes(http::Router& router, Context& ctx, std::shared_ptr<AuthGuard> auth) {
  using V = http::Verb;
  router.add(V::put, "/v1/agent/capture/data", [&ctx, auth](const Request& r) { return uploadPiece(r, ctx, *auth); });
  router.add(V::post, "/v1/agent/capture/finish", [&ctx, auth](const Request& r) { return finish(r, ctx, *auth); });
  router.add(V::post, "/v1/agent/capture/abort", [&ctx, auth](const Request& r) { return abort(r, ctx, *auth); });
}

}  // namespace drover::server
