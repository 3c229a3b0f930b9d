#include "server/boot_routes.hpp"

#include <fmt/format.h>

#include "http/static_files.hpp"
#include "cluster/boot.hpp"
#include "server/server_files.hpp"
#include "state/node_state.hpp"
#include "templates/ipxe.hpp"

namespace drover::server {
namespace {

using http::Request;
using http::Response;
using HttpStatus = http::Status;

constexpr std::string_view kIpxeType = "text/plain; charset=utf-8";

Response script(std::string text) {
  return Response::text(HttpStatus::ok, std::move(text), kIpxeType);
}

Response refusal(std::string_view why) {
  return script(refusalScript(why));
}

Response rendered(templates::Script kind, const templates::BootScriptParams& params,
                  const Context& ctx) {
  auto text = templates::renderScript(kind, params);
  if (!text) {
    ctx.log->error("SCRIPT_RENDER_FAILED script={} error={}", templates::scriptName(kind),
                   text.error().message);
    return Response::text(HttpStatus::internal_server_error,
                          "#!ipxe\necho Drover: script error\nexit 1\n", kIpxeType);
  }
  return script(std::move(*text));
}

std::string joinArgs(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// What the store says about a node, and the reason to show if it failed.
struct Known {
  std::optional<state::NodeStatus> status;
  std::string failure;
};

Known lookupState(const Context& ctx, const std::string& name) {
  Known k;
  auto rec = ctx.store.getNode(name);
  if (!rec) {
    ctx.log->warn("STATE_READ_FAILED node={} error={}", name, rec.error().message);
    return k;
  }
  if (*rec) k.status = (*rec)->status;
  if (k.status && k.status->state == state::NodeState::kFailed) {
    // The failed node retries every 30 s, but repeats of the same script are not
    // recorded (see noteScript), so the reason stays within the recent entries.
    auto tl = ctx.store.timeline(name, 200);
    if (tl) {
      for (auto it = tl->rbegin(); it != tl->rend(); ++it) {
        if (it->phase == "failed") {
          k.failure = it->message;
          break;
        }
      }
    }
  }
  return k;
}

// Appends "script_served" to the node's timeline, except when a failed node's retry loop
// asks again for the same failure script: one entry per failure, not one per 30 s.
void noteScript(const Context& ctx, const std::string& name, state::BootAction action,
                std::string message) {
  if (action == state::BootAction::kFailed) {
    auto last = ctx.store.timeline(name, 1);
    if (last && !last->empty() && last->back().phase == "script_served" &&
        last->back().message == message)
      return;
  }
  recordEvent(ctx, name, "script_served", std::move(message));
}

Response nodeScript(const Request& req, Context& ctx) {
  auto snapshot = ctx.source.current();
  if (!snapshot) return refusal("not ready");
  const auto& config = snapshot->inventory.config();

  auto mac = MacAddress::parse(req.queryOr("mac"));
  if (!mac) return refusal("the request carries no valid MAC address");
  std::optional<Uuid> uuid;
  if (auto u = Uuid::parse(req.queryOr("uuid")); u) uuid = *u;
  const bool efi = req.queryOr("platform") == "efi";

  const auto match = snapshot->inventory.match(*mac, uuid);
  const std::string name = match.known() ? match.node->name.value : provisionalName(*mac);

  state::BootAction action;
  Known known;
  if (match.known()) {
    known = lookupState(ctx, name);
    action = state::decideBoot(true, known.status);
  } else if (match.policy == cluster::UnknownPolicy::Ignore) {
    ctx.log->info("SCRIPT_IGNORED mac={}", mac->str());
    return refusal("this machine is not in the inventory");
  } else if (match.policy == cluster::UnknownPolicy::Install && match.profile) {
    known = lookupState(ctx, name);
    action = state::decideBoot(true, known.status);
  } else {
    action = state::BootAction::kDiscover;
  }

  const ScriptEndpoints at{httpBase(ctx, config), apiUrl(ctx, config), ctx.ca_fingerprint};
  auto respond = [&](templates::Script kind, std::string_view more_args = {}) -> Response {
    auto params = scriptParams(config, kind, name, efi, match.profile, at);
    if (!params) return refusal(params.error().message);
    if (!more_args.empty()) params->extra_args += (params->extra_args.empty() ? "" : " ") + std::string(more_args);
    if (kind == templates::Script::kInstall || kind == templates::Script::kDiscover) {
      auto token = ctx.tokens.issueBootToken(name);
      if (!token) {
        ctx.log->error("TOKEN_ISSUE_FAILED node={} error={}", name, token.error().message);
        return refusal("could not issue a boot token");
      }
      params->token = *token;
    }
    if (kind == templates::Script::kFailed)
      params->message = known.failure.empty() ? "installation failed" : known.failure;
    return rendered(kind, *params, ctx);
  };

  Response out;
  switch (action) {
    case state::BootAction::kInstall:
      out = respond(templates::Script::kInstall);
      break;
    case state::BootAction::kDiscover:
      out = respond(templates::Script::kDiscover);
      break;
    case state::BootAction::kLocalBoot:
      out = respond(templates::Script::kLocalBoot);
      break;
    case state::BootAction::kFailed:
      out = respond(templates::Script::kFailed);
      break;
    case state::BootAction::kCapture:
      // The installer's script; the agent's later drover.mode wins (docs/images.md).
      out = respond(templates::Script::kInstall, "drover.mode=capture");
      break;
  }
  const auto arch = req.queryOr("arch", "-");
  ctx.log->info("SCRIPT_SERVED node={} mac={} action={} arch={} platform={}", name, mac->str(),
                state::toString(action), templates::ipxeText(arch, 16), efi ? "efi" : "pcbios");
  noteScript(ctx, name, action,
             fmt::format("{} ({} {})", state::toString(action), templates::ipxeText(arch, 16),
                         efi ? "efi" : "pcbios"));
  return out;
}

Response entryOrNode(const Request& req, Context& ctx) {
  if (req.queryOr("mac").empty()) {
    auto snapshot = ctx.source.current();
    if (!snapshot) return refusal("not ready");
    templates::BootScriptParams params;
    params.base_url = httpBase(ctx, snapshot->inventory.config());
    return rendered(templates::Script::kEntry, params, ctx);
  }
  return nodeScript(req, ctx);
}

Response asset(const Request& req, Context& ctx) {
  auto snapshot = ctx.source.current();
  if (!snapshot) return Response::error(HttpStatus::service_unavailable, "not_ready", "starting");
  const auto& config = snapshot->inventory.config();
  const auto* image = config.findImage(req.params.at("image"));
  if (image == nullptr) return Response::error(HttpStatus::not_found, "not_found", "no such image");
  const auto& kind = req.params.at("kind");
  // A declared path, or the catalog's blob of the current version (fetched on first use).
  auto file = openImageArtifact(config, *image, kind);
  if (!file) {
    if (file.error().code != "not_found")
      ctx.log->warn("ASSET_OPEN_FAILED image={} kind={} error={}", image->name,
                    templates::ipxeText(kind, 16), file.error().message);
    return Response::error(HttpStatus::not_found, "not_found", "file not available");
  }
  return Response::fromFile(std::move(*file));
}

Response loader(const Request& req, Context& ctx) {
  auto snapshot = ctx.source.current();
  if (!snapshot) return Response::error(HttpStatus::service_unavailable, "not_ready", "starting");
  const auto& name = req.params.at("file");
  if (!isLoaderName(snapshot->inventory.config(), name)) {
    return Response::error(HttpStatus::not_found, "not_found", "no such file");
  }
  auto file = openLoader(snapshot->inventory.config(), name);
  if (!file) return Response::error(HttpStatus::not_found, "not_found", file.error().message);
  return Response::fromFile(std::move(*file), http::contentTypeFor(name));
}

}  // namespace

Result<templates::BootScriptParams> scriptParams(const cluster::Config& config,
                                                 templates::Script kind, const std::string& node,
                                                 bool efi, const cluster::Profile* profile,
                                                 const ScriptEndpoints& at) {
  templates::BootScriptParams params;
  params.base_url = at.base_url;
  params.node = node;
  params.efi = efi;
  params.api_url = at.api_url;
  params.ca_fingerprint = at.ca_fingerprint;
  if (kind == templates::Script::kInstall || kind == templates::Script::kDiscover) {
    const auto* env = config.findImage(config.defaults.boot_env.value);
    if (env == nullptr || !env->kernel || !env->initrd) {
      return makeError("no_boot_env", fmt::format("boot environment {} has no kernel and initrd",
                                                  config.defaults.boot_env.value));
    }
    params.kernel_url = fmt::format("{}/assets/{}/kernel", params.base_url, env->name);
    params.initrd_url = fmt::format("{}/assets/{}/initrd", params.base_url, env->name);
    if (profile) params.extra_args = joinArgs(profile->kernel_args);
  }
  return params;
}

std::string refusalScript(std::string_view why) {
  return fmt::format("#!ipxe\necho Drover: {}\nexit 1\n", templates::ipxeText(why));
}

void addBootRoutes(http::Router& router, Context& ctx) {
  router.add(http::Verb::get, "/boot.ipxe",
             [&ctx](const Request& r) { return entryOrNode(r, ctx); });
  router.add(http::Verb::get, "/assets/{image}/{kind}",
             [&ctx](const Request& r) { return asset(r, ctx); });
  router.add(http::Verb::get, "/{file}", [&ctx](const Request& r) { return loader(r, ctx); });
}

}  // namespace drover::server
