// /v1/agent/*: what drover-agent calls (docs/api.md).
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "boot/recipes.hpp"
#include "boot/template_data.hpp"
#include "common/base64.hpp"
#include "images/verify/signature.hpp"
#include "server/api_auth.hpp"
#include "server/api_routes.hpp"
#include "server/boot_guard.hpp"
#include "server/capture_api.hpp"
#include "server/handoff.hpp"
#include "server/image_updates.hpp"
#include "server/server_files.hpp"
#include "templates/template.hpp"

namespace drover::server {
namespace {

using http::Request;
using http::Response;
using HttpStatus = http::Status;
using nlohmann::json;

// The body as a JSON object, or the 400 to send.
std::variant<json, Response> jsonBody(const Request& req) {
  auto j = json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Response::error(HttpStatus::bad_request, "bad_json", "the body must be a JSON object");
  }
  return j;
}

std::string stringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The node's declaration, or null for a machine that is not in the inventory.
const cluster::Node* declared(const boot::Snapshot& s, const std::string& name) {
  return s.inventory.findNode(name);
}

const cluster::Profile* profileOf(const boot::Snapshot& s, const cluster::Node* node) {
  const auto& c = s.inventory.config();
  if (node == nullptr) return nullptr;
  return c.findProfile(c.profileNameOf(*node));
}

// The disk's signature (base64) and the PEM of its key, for the agent to check over the
// stream: a local signature file, or the one the catalog verified the blob with.
Result<std::pair<std::string, std::string>> planSignature(const cluster::Config& c, const cluster::Artifact& disk,
                                                          const std::string& sha) {
  const auto& s = *disk.signature;
  std::vector<std::uint8_t> raw;
  if (!s.path.empty()) {
    auto text = images::verify::readSmallFile(s.path);
    if (!text) return text.error();
    auto bytes = images::verify::decodeSignature(*text);
    if (!bytes) return bytes.error();
    raw = std::move(*bytes);
  } else {
    auto digest = Sha256::parse(sha);
    if (!digest) return digest.error();
    auto stored = serveCatalog(c).signatureOf(*digest);
    if (!stored) return stored.error();
    raw = std::move(*stored);
  }
  auto key = images::verify::readSmallFile(c.trust.keys.at(s.key.value).value);
  if (!key) return key.error();
  return std::pair{encodeBase64(raw), *key};
}

// Image formats by file name: the agent picks its decompressor by magic bytes anyway.
std::string formatOf(const std::string& name) {
  for (const char* ext : {".zst", ".xz", ".gz"}) {
    if (name.ends_with(ext)) return std::string("raw") + ext;
  }
  return "raw";
}

Response exchange(const Request& req, Context& ctx, AuthGuard& auth) {
  if (auto t = auth.throttled(req)) return std::move(*t);
  auto body = jsonBody(req);
  if (auto* r = std::get_if<Response>(&body)) return std::move(*r);
  auto token = stringField(std::get<json>(body), "token");
  if (token.empty()) return auth.fail(req, "missing", "a boot token is required");
  auto snapshot = ctx.source.current();
  if (!snapshot) return Response::error(HttpStatus::service_unavailable, "not_ready", "starting");
  auto& guard = *ctx.boot_guard;
  // The API says invalid_token for every token it cannot accept as such; the metric and
  // the log say which.
  auto refuse = [&](const std::string& node, std::string_view reason, std::string_view code,
                    std::string_view message) {
    guard.refused(ctx, node, reason, req.client);
    return auth.fail(req, code, message);
  };
  auto claims = ctx.tokens.checkBootToken(token);
  if (!claims) {
    const auto& code = claims.error().code;
    if (code == "expired_token")
      return refuse("", boot_refusal::kExpired, code, claims.error().message);
    return refuse("", code == "forged_token" ? boot_refusal::kForged : boot_refusal::kMalformed,
                  "invalid_token", "unknown or already used boot token");
  }
  if (auto reason = guard.checkExchange(ctx, snapshot->inventory.config(), *claims, req.client))
    return refuse(claims->node, *reason, "wrong_source",
                  "this address may not exchange that boot token");
  if (auto st = ctx.tokens.spendBootToken(token, *claims); !st) {
    if (st.error().code != "replayed_token")
      return Response::error(HttpStatus::internal_server_error, "store_error", st.error().message);
    return refuse(claims->node, boot_refusal::kReplayed, "invalid_token",
                  "unknown or already used boot token");
  }
  guard.purgeSpent(ctx);
  const std::string* node = &claims->node;

  const auto* decl = declared(*snapshot, *node);
  // The record exists from the first exchange on: the credential is kept in it.
  auto rec = ctx.store.updateNode(
      *node,
      [&](const std::optional<state::NodeRecord>& cur) -> Result<state::NodeRecord> {
        if (cur) return *cur;
        state::NodeRecord r;
        r.name = *node;
        r.state_since_ms = state::nowMs();
        if (decl && !decl->macs.empty())
          r.mac = decl->macs.front().value.str();
        else if (!claims->mac.isZero())
          r.mac = claims->mac.str();
        if (decl && decl->uuid) r.uuid = decl->uuid->value.str();
        return r;
      },
      {{state::nowMs(), "token_exchanged", "boot token exchanged for a node credential"}});
  if (!rec) return Response::error(HttpStatus::internal_server_error, "store_error", rec.error().message);
  auto secret = ctx.tokens.issueNodeCredential(*node);
  if (!secret) return Response::error(HttpStatus::internal_server_error, "store_error", secret.error().message);
  return Response::json(HttpStatus::ok, json{{"node", *node}, {"credential", agentCredential(*node, *secret)}}.dump());
}

Response registerNode(const Request& req, Context& ctx, const std::string& node) {
  auto body = jsonBody(req);
  if (auto* r = std::get_if<Response>(&body)) return std::move(*r);
  const auto& facts = std::get<json>(body);
  if (auto capture = captureRegister(ctx, node, facts)) return std::move(*capture);
  auto snapshot = ctx.source.current();
  const bool installable = profileOf(*snapshot, declared(*snapshot, node)) != nullptr;
  const auto event = installable ? state::NodeEvent::kRegistered : state::NodeEvent::kDiscovered;
  auto rec = state::applyEvent(ctx.store, node, event,
                               {state::nowMs(), installable ? "registered" : "discovered",
                                fmt::format("{} cpus, {} bytes of memory, {} disks",
                                            facts.value("/cpu/count"_json_pointer, 0),
                                            facts.value("memory_bytes", std::int64_t{0}),
                                            facts.contains("disks") ? facts["disks"].size() : 0)});
  std::string action;
  if (!rec) {
    if (rec.error().code != "transition_refused") {
      return Response::error(HttpStatus::internal_server_error, "store_error", rec.error().message);
    }
    // An installed node booted into the installer (a stray PXE boot): never wipe it.
    action = "boot-local";
  } else {
    action = rec->status.state == state::NodeState::kInstalling ? "install" : "wait";
  }
  // Facts are kept whatever the state.
  (void)ctx.store.updateNode(node, [&](const std::optional<state::NodeRecord>& cur) -> Result<state::NodeRecord> {
    if (!cur) return makeError("unknown_node", node);
    auto r = *cur;
    r.facts_json = facts.dump();
    if (r.mac.empty()) r.mac = stringField(facts, "mac");
    if (r.uuid.empty()) r.uuid = stringField(facts, "uuid");
    return r;
  });
  auto state_now = ctx.store.getNode(node);
  std::string state_name = state_now && *state_now ? std::string(state::toString((*state_now)->status.state)) : "";
  return Response::json(HttpStatus::ok, json{{"node", node}, {"state", state_name}, {"action", action}}.dump());
}

Response plan(Context& ctx, const std::string& node) {
  if (auto capture = capturePlan(ctx, node)) return std::move(*capture);
  auto snapshot = ctx.source.current();
  const auto& c = snapshot->inventory.config();
  const auto* profile = profileOf(*snapshot, declared(*snapshot, node));
  if (profile == nullptr || !profile->install) {
    return Response::error(HttpStatus::conflict, "no_plan", "this node has no install profile; wait for the operator");
  }
  const auto* image = c.findImage(profile->install->image.value);
  if (image == nullptr || !image->disk) {
    return Response::error(HttpStatus::conflict, "no_plan", "the profile's image has no disk");
  }
  const auto& disk = *image->disk;
  std::string sha = disk.sha256 ? disk.sha256->hex() : "";
  std::string url = fmt::format("{}/assets/{}/disk", httpBase(ctx, c), image->name);
  std::int64_t size = 0;
  if (!disk.path.empty()) {
    struct stat st {};
    if (::stat(disk.path.c_str(), &st) == 0) size = st.st_size;
  } else {
    // A url-declared image: the catalog's current version, fetched now on first use. The
    // plan names that version, so the node installs exactly it even if upstream moves on.
    auto blob = serveCatalog(c).ensure(*catalogSpec(c, image->name, "disk"));
    if (!blob) {
      ctx.log->warn("PLAN_IMAGE_UNAVAILABLE node={} image={} code={} error={}", node, image->name,
                    blob.error().code, blob.error().message);
      return Response::error(HttpStatus::service_unavailable, "image_unavailable", blob.error().message);
    }
    sha = blob->sha256.hex();
    size = static_cast<std::int64_t>(blob->size);
    url = fmt::format("{}/v1/images/{}/disk/{}", apiUrl(ctx, c), image->name, sha);
  }
  json img = {{"name", image->name},
              {"version", sha.empty() ? "local" : sha.substr(0, 12)},
              {"url", url},
              {"sha256", sha},
              {"format", formatOf(disk.path.empty() ? disk.url->target : disk.path)}};
  std::uint64_t min_disk = static_cast<std::uint64_t>(size);
  if (auto digest = Sha256::parse(sha)) {
    if (auto captured = capturedInfo(c, *digest)) {  // a captured version: zstd of the raw disk
      img["format"] = captured->format;
      img["raw_sha256"] = captured->raw_sha256;
      img["raw_size"] = captured->raw_size;
      min_disk = captured->raw_size;
    }
  }
  if (disk.signature) {
    auto sig = planSignature(c, disk, sha);
    if (!sig) {
      ctx.log->warn("PLAN_SIGNATURE_UNAVAILABLE node={} image={} error={}", node, image->name, sig.error().message);
      return Response::error(HttpStatus::service_unavailable, "signature_unavailable", sig.error().message);
    }
    img["signature"] = sig->first;
    img["signature_key"] = sig->second;
  }
  img["size"] = size;
  if (disk.path.empty()) {  // the catalog's version: kept while this install is pending
    auto st = ctx.store.updateNode(
        node, [&](const std::optional<state::NodeRecord>& cur) -> Result<state::NodeRecord> {
          if (!cur) return makeError("unknown_node", node);
          auto r = *cur;
          r.install_version = installVersion(image->name, sha);
          return r;
        });
    if (!st)
      ctx.log->warn("PLAN_VERSION_NOT_RECORDED node={} image={} error={}", node, image->name,
                    st.error().message);
  }
  recordEvent(ctx, node, "plan", fmt::format("image {} version {}", image->name, img["version"].get<std::string>()));
  return Response::json(HttpStatus::ok,
                        json{{"action", "install"}, {"image", img}, {"disk", profile->install->disk}, {"min_disk_bytes", min_disk}}.dump());
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Response cloudConfig(Context& ctx, const std::string& node) {
  auto snapshot = ctx.source.current();
  const auto* decl = declared(*snapshot, node);
  const auto* profile = profileOf(*snapshot, decl);
  if (decl == nullptr) return Response::error(HttpStatus::conflict, "not_declared", "node is not in the inventory");
  auto data = boot::templateData(snapshot->inventory, *decl);
  std::string text;
  if (profile && profile->cloud_config) {
    auto rendered = templates::render(profile->cloud_config->value, readFile(profile->cloud_config_file), data);
    if (!rendered) return Response::error(HttpStatus::internal_server_error, "template_error", rendered.error().message);
    text = std::move(*rendered);
  } else {
    json doc = {{"hostname", decl->name.value}, {"ssh_authorized_keys", data["ssh_authorized_keys"]}};
    text = "#cloud-config\n" + doc.dump(2) + "\n";
  }
  Response r = Response::text(HttpStatus::ok, std::move(text), "text/cloud-config");
  return r;
}

// The node's join recipe, rendered from the declaration (boot/recipes.hpp).
Response join(Context& ctx, const std::string& node) {
  auto snapshot = ctx.source.current();
  const auto* decl = declared(*snapshot, node);
  if (decl == nullptr || profileOf(*snapshot, decl) == nullptr) {
    return Response::error(HttpStatus::conflict, "not_declared", "node has no profile");
  }
  auto recipe = boot::renderJoin(snapshot->inventory.config(), *decl);
  if (!recipe) {
    ctx.log->warn("JOIN_RECIPE_UNAVAILABLE node={} code={} error={}", node, recipe.error().code,
                  recipe.error().message);
    return Response::error(HttpStatus::conflict, recipe.error().code, recipe.error().message);
  }
  return Response::json(HttpStatus::ok, recipe->dump());
}

Response events(const Request& req, Context& ctx, const std::string& node) {
  auto body = jsonBody(req);
  if (auto* r = std::get_if<Response>(&body)) return std::move(*r);
  const auto& j = std::get<json>(body);
  auto phase = stringField(j, "phase");
  if (phase.empty() || phase.size() > 64) {
    return Response::error(HttpStatus::bad_request, "bad_phase", "phase must be a short string");
  }
  auto message = stringField(j, "message").substr(0, 1024);
  if (auto p = j.find("progress"); p != j.end() && p->is_number()) {
    message = fmt::format("{:.0f}% {}", p->get<double>() * 100.0, message);
  }
  state::TimelineEntry entry{state::nowMs(), phase, message};
  if (auto event = state::eventForPhase(phase)) {
    auto rec = state::applyEvent(ctx.store, node, *event, entry);
    if (!rec) {
      const auto status = rec.error().code == "transition_refused" ? HttpStatus::conflict
                                                                  : HttpStatus::internal_server_error;
      return Response::error(status, rec.error().code, rec.error().message);
    }
    ctx.log->info("NODE_STATE node={} state={} phase={}", node, state::toString(rec->status.state), phase);
  } else if (auto st = ctx.store.appendTimeline(node, {entry}); !st) {
    return Response::error(HttpStatus::internal_server_error, "store_error", st.error().message);
  }
  // The agent's answer to a request to reboot into the network (server/handoff.hpp).
  if (auto id = stringField(j, "id"); !id.empty() && ctx.handoff)
    ctx.handoff->agentReport(node, id, phase, message);
  return Response::json(HttpStatus::ok, "{}");
}

// Last-seen is kept in memory; the timeline gets an entry only when a node comes back
// after a gap, not every 30 s. The answer is {} or a request for the agent
// ({"action":"reinstall","id":...,"mac":...}: reboot into the network).
Response heartbeat(const Request&, Context& ctx, const std::string& node) {
  ctx.registry.counter("agent_heartbeats_total", "Heartbeats received from agents")++;
  const auto now = state::nowMs();
  if (ctx.presence->touch(node, now)) {
    recordEvent(ctx, node, "heartbeat", "agent heard from (first heartbeat after a gap)");
  }
  // A reinstall waiting for this agent to send its machine to the network: handed out in
  // this answer only, whichever replica took the request (server/handoff.hpp).
  if (ctx.handoff) {
    if (auto request = ctx.handoff->deliver(node))
      return Response::json(
          HttpStatus::ok,
          json{{"action", "reinstall"}, {"id", request->id}, {"mac", request->mac}}.dump());
  }
  return Response::json(HttpStatus::ok, "{}");
}

Response imageVersion(const Request& req, Context& ctx) {
  auto snapshot = ctx.source.current();
  if (!snapshot) return Response::error(HttpStatus::service_unavailable, "not_ready", "starting");
  const auto& c = snapshot->inventory.config();
  const auto* image = c.findImage(req.params.at("image"));
  auto digest = Sha256::parse(req.params.at("sha256"));
  if (image == nullptr || !digest) return Response::error(HttpStatus::not_found, "not_found", "no such image version");
  auto file = openImageArtifact(c, *image, req.params.at("kind"), *digest);
  if (!file) return Response::error(HttpStatus::not_found, "not_found", file.error().message);
  return Response::fromFile(std::move(*file));
}

}  // namespace

void addAgentRoutes(http::Router& router, Context& ctx, std::shared_ptr<AuthGuard> auth) {
  // Every authenticated agent route: resolve the node from the credential first.
  auto authed = [&ctx, auth](auto fn) {
    return [&ctx, auth, fn](const Request& req) -> Response {
      auto who = auth->node(req);
      if (auto* r = std::get_if<Response>(&who)) return std::move(*r);
      return fn(req, ctx, std::get<std::string>(who));
    };
  };
  using V = http::Verb;
  router.add(V::post, "/v1/agent/exchange", [&ctx, auth](const Request& r) { return exchange(r, ctx, *auth); });
  router.add(V::post, "/v1/agent/register", authed(registerNode));
  router.add(V::get, "/v1/agent/plan",
             authed([](const Request&, Context& c, const std::string& n) { return plan(c, n); }));
  router.add(V::get, "/v1/agent/cloud-config",
             authed([](const Request&, Context& c, const std::string& n) { return cloudConfig(c, n); }));
  router.add(V::get, "/v1/agent/join",
             authed([](const Request&, Context& c, const std::string& n) { return join(c, n); }));
  router.add(V::post, "/v1/agent/events", authed(events));
  router.add(V::post, "/v1/agent/heartbeat", authed(heartbeat));
  addCaptureUploadRoutes(router, ctx, auth);
  // Cached image versions by digest: what a plan's url names. Content-addressed and the
  // same bytes /assets serves to anyone, so no credential is asked for.
  router.add(V::get, "/v1/images/{image}/{kind}/{sha256}", [&ctx](const Request& r) { return imageVersion(r, ctx); });
}

void addApiRoutes(http::Router& router, Context& ctx) {
  auto auth = std::make_shared<AuthGuard>(ctx);
  addAgentRoutes(router, ctx, auth);
  addOperatorRoutes(router, ctx, auth);
  addUiRoutes(router, ctx, auth);
}

}  // namespace drover::server
