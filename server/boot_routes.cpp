#include "server/boot_routes.hpp"

#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "boot/decision.hpp"
#include "http/static_files.hpp"
#include "server/boot_guard.hpp"
#include "server/handoff.hpp"
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

Response renderFailed(templates::Script kind, const Error& error, const Context& ctx) {
  ctx.log->error("SCRIPT_RENDER_FAILED script={} error={}", templates::scriptName(kind),
                 error.message);
  return Response::text(HttpStatus::internal_server_error,
                        "#!ipxe\necho Drover: script error\nexit 1\n", kIpxeType);
}

Response rendered(templates::Script kind, const templates::BootScriptParams& params,
                  const Context& ctx) {
  auto text = templates::renderScript(kind, params);
  if (!text) return renderFailed(kind, text.error(), ctx);
  return script(std::move(*text));
}

// The scripts that carry a boot token (install, discover, capture), prepared once per node
// and declaration: everything in them but the token is fixed by the declaration, the node,
// its profile, the platform and the other replicas' URLs, so a request costs a lookup and
// the token. Starts over when the declaration changes or it holds kMax scripts.
class PreparedScripts {
 public:
  struct Key {
    templates::Script kind;
    bool efi = false;
    bool arm64 = false;
    const cluster::Profile* profile = nullptr;
    std::string node;
    std::vector<std::string> alternates;
    bool operator==(const Key&) const = default;
  };

  // The prepared script for `key` under `snapshot`; `make` prepares it on a miss (an
  // error is returned, not kept).
  template <class Make>
  Result<std::shared_ptr<const templates::PreparedScript>> get(
      const std::shared_ptr<const boot::Snapshot>& snapshot, const Key& key, Make&& make) {
    {
      std::lock_guard lock(mu_);
      if (for_.lock() != snapshot) {
        scripts_.clear();
        for_ = snapshot;
      }
      if (auto it = scripts_.find(key); it != scripts_.end()) return it->second;
    }
    Result<templates::PreparedScript> made = make();
    if (!made) return made.error();
    auto prepared = std::make_shared<const templates::PreparedScript>(std::move(*made));
    std::lock_guard lock(mu_);
    if (for_.lock() == snapshot) {
      if (scripts_.size() >= kMax) scripts_.clear();
      scripts_.emplace(key, prepared);
    }
    return prepared;
  }

 private:
  static constexpr std::size_t kMax = 16384;
  struct Hash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::string>()(k.node) ^ (static_cast<std::size_t>(k.kind) << 2) ^
             (k.efi ? 1u : 0u) ^ (k.arm64 ? 2u : 0u);
    }
  };
  std::mutex mu_;
  std::weak_ptr<const boot::Snapshot> for_;
  std::unordered_map<Key, std::shared_ptr<const templates::PreparedScript>, Hash> scripts_;
};

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

// Appends "script_served" to the node's timeline, once per boot attempt: not when the last
// entry (boot refusals aside) already says the same script was served, so repeated requests
// for the same script (a failed node's 30 s retry loop, or anyone asking again and again)
// are not recorded, while a new DHCP exchange, exchange or state change starts a new run.
// Machines that match no node get entries only once the store has a record of them.
void noteScript(const Context& ctx, const cluster::Inventory& inventory, const std::string& name,
                std::string_view script_name, std::string_view arch, bool efi) {
  if (!timelineWorthy(ctx, inventory, name)) return;
  if (repeatsLast(ctx, name, "script_served", fmt::format("{} (", script_name), "boot_refused"))
    return;
  recordEvent(ctx, name, "script_served",
              fmt::format("{} ({} {})", script_name, templates::ipxeText(arch, 16),
                          efi ? "efi" : "pcbios"));
}

// The script of a token kind: prepared (cached), then this request's token put in. Errors:
// "render_failed" (a server fault), anything else a reason to refuse the machine.
Result<std::string> tokenScript(const Request& req, Context& ctx, PreparedScripts& prepared,
                                const std::shared_ptr<const boot::Snapshot>& snapshot,
                                const boot::Decision& decision, const std::string& name,
                                const MacAddress& mac, bool efi, std::string_view arch) {
  const auto& config = snapshot->inventory.config();
  const auto kind = decision.script;
  PreparedScripts::Key key{kind, efi, arch == "arm64", decision.profile, name, apiAlternates(ctx)};
  auto ready = prepared.get(snapshot, key, [&]() -> Result<templates::PreparedScript> {
    const ScriptEndpoints at{httpBase(ctx, config), apiUrl(ctx, config), ctx.ca_fingerprint,
                             key.alternates};
    auto params = scriptParams(config, kind, name, efi, arch, decision.profile, at);
    if (!params) return params.error();
    auto made = templates::prepareScript(kind, *params);
    if (!made) return makeError("render_failed", made.error().message);
    return made;
  });
  if (!ready) return ready.error();
  auto token = issueScriptToken(ctx, config, name, mac, req.client);
  if (!token) return token.error();
  auto text = (*ready)->withToken(*token);
  if (!text) return makeError("render_failed", text.error().message);
  return text;
}

Response nodeScript(const Request& req, Context& ctx, PreparedScripts& prepared) {
  auto snapshot = ctx.source.current();
  if (!snapshot) return refusal("not ready");
  const auto& config = snapshot->inventory.config();

  auto mac = MacAddress::parse(req.queryOr("mac"));
  if (!mac) return refusal("the request carries no valid MAC address");
  std::optional<Uuid> uuid;
  if (const auto text = req.queryOr("uuid"); !text.empty())
    if (auto u = Uuid::parse(text); u) uuid = *u;
  const bool efi = req.queryOr("platform") == "efi";

  const auto match = snapshot->inventory.match(*mac, uuid);
  const std::string name = match.known() ? match.node->name.value : provisionalName(*mac);
  // Discovered and ignored machines get the same script whatever the store holds: no read.
  const Known known = boot::dependsOnState(match) ? lookupState(ctx, name) : Known{};
  // The one boot decision; the client asking here is iPXE.
  boot::ClientIdentity client;
  client.ipxe = true;
  const auto decision = boot::decide(config, match, client, known.status);
  const auto kind = decision.script;
  const auto arch = req.queryOr("arch", "-");

  Response out;
  if (needsBootToken(kind)) {
    auto text = tokenScript(req, ctx, prepared, snapshot, decision, name, *mac, efi, arch);
    if (!text && text.error().code == "render_failed") return renderFailed(kind, text.error(), ctx);
    if (!text) return refusal(text.error().message);
    out = script(std::move(*text));
  } else {
    const ScriptEndpoints at{httpBase(ctx, config), apiUrl(ctx, config), ctx.ca_fingerprint,
                             apiAlternates(ctx)};
    auto params = scriptParams(config, kind, name, efi, arch, decision.profile, at);
    if (!params) return refusal(params.error().message);
    if (kind == boot::ScriptKind::kFailed)
      params->message = known.failure.empty() ? "installation failed" : known.failure;
    if (kind == boot::ScriptKind::kIgnore) {
      ctx.log->info("SCRIPT_IGNORED mac={}", mac->str());
      params->message = decision.reason;
      return rendered(kind, *params, ctx);
    }
    out = rendered(kind, *params, ctx);
  }

  const auto script_name = templates::scriptName(kind);
  if (ctx.log->should_log(spdlog::level::info))  // the arguments cost allocations
    ctx.log->info("SCRIPT_SERVED node={} mac={} action={} arch={} platform={}", name, mac->str(),
                  script_name, templates::ipxeText(arch, 16), efi ? "efi" : "pcbios");
  // A node sent to the network for a reinstall got there.
  if (ctx.handoff && match.known()) ctx.handoff->heard(name, "script " + std::string(script_name));
  noteScript(ctx, snapshot->inventory, name, script_name, arch, efi);
  return out;
}

Response entryOrNode(const Request& req, Context& ctx, PreparedScripts& prepared) {
  if (req.queryOr("mac").empty()) {
    auto snapshot = ctx.source.current();
    if (!snapshot) return refusal("not ready");
    templates::BootScriptParams params;
    params.base_url = httpBase(ctx, snapshot->inventory.config());
    return rendered(templates::Script::kEntry, params, ctx);
  }
  return nodeScript(req, ctx, prepared);
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

// A blob of this replica's store by its sha256, for the other replicas (obtain()): only
// blobs the catalog names, only those already here (never fetched on behalf of the caller,
// so two replicas cannot ask each other in a loop). The same bytes /v1/images/... serves to
// anyone who has the digest; the caller checks them against the digest anyway.
Response blob(const Request& req, Context& ctx) {
  auto snapshot = ctx.source.current();
  if (!snapshot) return Response::error(HttpStatus::service_unavailable, "not_ready", "starting");
  auto digest = Sha256::parse(req.params.at("sha256"));
  if (!digest) return Response::error(HttpStatus::not_found, "not_found", "no such blob");
  auto held = serveCatalog(snapshot->inventory.config()).localBlob(*digest);
  if (!held) return Response::error(HttpStatus::not_found, "not_found", "no such blob here");
  auto file = openDeclaredFile(held->path.string(), digest->hex());
  if (!file) return Response::error(HttpStatus::not_found, "not_found", "no such blob here");
  ctx.registry.counter("image_blobs_served_total", "Blobs served to other replicas by digest")++;
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
                                                 bool efi, std::string_view build_arch,
                                                 const cluster::Profile* profile,
                                                 const ScriptEndpoints& at) {
  templates::BootScriptParams params;
  params.base_url = at.base_url;
  params.node = node;
  params.efi = efi;
  params.api_url = at.api_url;
  params.api_alternates = at.api_alternates;
  params.ca_fingerprint = at.ca_fingerprint;
  if (needsBootToken(kind)) {  // the scripts that boot the boot environment
    const bool arm64 = build_arch == "arm64";
    const auto* env = boot::bootEnv(config, arm64);
    if (env == nullptr || !env->kernel || !env->initrd) {
      const auto& name = arm64 && config.defaults.boot_env_arm64
                             ? config.defaults.boot_env_arm64->value
                             : config.defaults.boot_env.value;
      return makeError("no_boot_env",
                       fmt::format("boot environment {} has no kernel and initrd", name));
    }
    // arm64 servers and QEMU's virt machine have a PL011 serial port (ttyAMA0).
    if (arm64) params.console = "console=tty0 console=ttyAMA0,115200";
    params.kernel_url = params.base_url + "/assets/" + env->name + "/kernel";
    params.initrd_url = params.base_url + "/assets/" + env->name + "/initrd";
    if (profile) params.extra_args = joinArgs(profile->kernel_args);
  }
  if (kind == templates::Script::kLocalBoot &&
      boot::localBoot(config, efi, build_arch).how == boot::DiskHandoff::kGrub)
    params.grub_url = fmt::format("{}/{}", params.base_url, boot::kGrubEfiName);
  return params;
}

Result<std::string> issueScriptToken(Context& ctx, const cluster::Config& config,
                                     const std::string& name, const MacAddress& mac,
                                     const boost::asio::ip::address& source) {
  auto bound = ctx.boot_guard->bindScript(ctx, config, mac, source);
  if (const auto* reason = std::get_if<std::string_view>(&bound)) {
    ctx.boot_guard->refused(ctx, name, *reason, source);
    return makeError("boot_refused",
                     *reason == boot_refusal::kSubnetNotAllowed
                         ? "this address may not boot from this server"
                         : "this address does not hold the lease of that MAC address");
  }
  auto token = ctx.tokens.issueBootToken({.node = name,
                                          .mac = mac,
                                          .holder = std::get<std::optional<Ipv4Address>>(bound),
                                          .expires_ms = 0});
  if (!token) {
    ctx.log->error("TOKEN_ISSUE_FAILED node={} error={}", name, token.error().message);
    return makeError("token_failed", "could not issue a boot token");
  }
  return *token;
}

std::vector<std::string> agentKernelArgs(const templates::BootScriptParams& p,
                                         std::string_view mode) {
  std::string api = p.api_url;
  for (const auto& alt : p.api_alternates) api += "," + alt;
  std::vector<std::string> args{"drover.api=" + api, "drover.ca=" + p.ca_fingerprint,
                                "drover.token=" + p.token};
  if (mode != "discover") args.push_back("drover.node=" + p.node);
  args.push_back("drover.mode=" + std::string(mode));
  for (const auto* words : {&p.console, &p.extra_args}) {
    std::istringstream in(*words);
    for (std::string w; in >> w;) args.push_back(w);
  }
  return args;
}

bool needsBootToken(templates::Script kind) {
  return kind == templates::Script::kInstall || kind == templates::Script::kDiscover ||
         kind == templates::Script::kCapture;
}

std::string refusalScript(std::string_view why) {
  return fmt::format("#!ipxe\necho Drover: {}\nexit 1\n", templates::ipxeText(why));
}

void addBootRoutes(http::Router& router, Context& ctx) {
  auto prepared = std::make_shared<PreparedScripts>();
  router.add(http::Verb::get, "/boot.ipxe",
             [&ctx, prepared](const Request& r) { return entryOrNode(r, ctx, *prepared); });
  router.add(http::Verb::get, "/assets/{image}/{kind}",
             [&ctx](const Request& r) { return asset(r, ctx); });
  router.add(http::Verb::get, "/blobs/sha256/{sha256}",
             [&ctx](const Request& r) { return blob(r, ctx); });
  router.add(http::Verb::get, "/{file}", [&ctx](const Request& r) { return loader(r, ctx); });
}

}  // namespace drover::server
