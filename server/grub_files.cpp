#include "server/grub_files.hpp"

#include <fmt/format.h>

#include "boot/decision.hpp"
#include "server/boot_routes.hpp"
#include "server/server_files.hpp"
#include "templates/grub.hpp"
#include "templates/ipxe.hpp"

namespace drover::server {
namespace {

constexpr std::string_view kEntry = "grub/grub.cfg";
constexpr std::string_view kModules = "grub/x86_64-efi/";
constexpr std::string_view kNodeDir = "grub/drover/";
constexpr std::string_view kNodeSuffix = ".cfg";

}  // namespace

std::optional<std::string> GrubFiles::lookup(std::string_view path, const tftp::Endpoint& client) {
  if (!path.starts_with("grub/")) return std::nullopt;
  auto snapshot = ctx_.source.current();
  if (!snapshot || snapshot->inventory.config().server.boot.grub_efi.empty()) return std::nullopt;
  if (path == kEntry) return std::string(templates::grubEntryConfig());
  if (path.starts_with(kModules) && path.ends_with(".lst") &&
      path.find('/', kModules.size()) == std::string_view::npos)
    return std::string();
  if (path.starts_with(kNodeDir) && path.ends_with(kNodeSuffix)) {
    return nodeConfig(
        path.substr(kNodeDir.size(), path.size() - kNodeDir.size() - kNodeSuffix.size()), client);
  }
  return std::nullopt;
}

std::optional<std::filesystem::path> GrubFiles::file(std::string_view path, const tftp::Endpoint&) {
  const bool chain = path == boot::kShimEfiName || path == boot::kShimGrubName;
  const bool env = path == boot::kBootEnvKernelPath || path == boot::kBootEnvInitrdPath;
  if (!chain && !env) return std::nullopt;
  auto snapshot = ctx_.source.current();
  if (!snapshot) return std::nullopt;
  const auto& config = snapshot->inventory.config();
  if (path == boot::kShimEfiName) return std::filesystem::path(config.server.boot.shim_efi);
  if (path == boot::kShimGrubName) {
    if (config.server.boot.grub_efi.empty()) return std::nullopt;
    return std::filesystem::path(config.server.boot.grub_efi);
  }
  const auto* image = config.findImage(config.defaults.boot_env.value);
  if (image == nullptr) return std::nullopt;
  auto real =
      imageArtifactPath(config, *image, path == boot::kBootEnvKernelPath ? "kernel" : "initrd");
  if (!real) {
    ctx_.log->warn("TFTP_BOOT_ENV_UNAVAILABLE path={} error={}", path, real.error().message);
    return std::nullopt;
  }
  return *real;
}

Result<std::string> GrubFiles::signedChainConfig(const cluster::Config& config,
                                                 const std::string& name, const MacAddress& mac,
                                                 const boot::Decision& decision,
                                                 const tftp::Endpoint& client) {
  const auto kind = decision.script;
  templates::GrubParams params;
  params.node = name;
  if (!needsBootToken(kind)) {
    params.message = fmt::format("{}: {}", name, decision.reason);
    return templates::renderGrubConfig(templates::GrubConfig::kWait, params);
  }
  const ScriptEndpoints at{httpBase(ctx_, config), apiUrl(ctx_, config), ctx_.ca_fingerprint,
                           apiAlternates(ctx_)};
  auto script = scriptParams(config, kind, name, true, "x86_64", decision.profile, at);
  if (!script) return script.error();
  auto token = issueScriptToken(ctx_, config, name, mac, client.address());
  if (!token) return token.error();
  script->token = *token;
  params.message = fmt::format("{} {} through the signed chain", templates::scriptName(kind), name);
  params.kernel_path = std::string(boot::kBootEnvKernelPath);
  params.initrd_path = std::string(boot::kBootEnvInitrdPath);
  params.kernel_args = agentKernelArgs(*script, templates::scriptName(kind));
  return templates::renderGrubConfig(templates::GrubConfig::kLinux, params);
}

std::optional<std::string> GrubFiles::nodeConfig(std::string_view mac_text,
                                                 const tftp::Endpoint& from) {
  auto snapshot = ctx_.source.current();
  if (!snapshot) return std::nullopt;
  auto mac = MacAddress::parse(mac_text);
  if (!mac) {
    ctx_.log->info("GRUB_CONFIG_REFUSED reason=bad_mac name={}", templates::ipxeText(mac_text, 32));
    return std::nullopt;  // not found
  }
  const auto& config = snapshot->inventory.config();
  const auto match = snapshot->inventory.match(*mac, std::nullopt);
  const std::string name = match.known() ? match.node->name.value : provisionalName(*mac);
  // The same decision GET /boot.ipxe makes (the client asking runs no iPXE any more, but it
  // came from the iPXE script: the script kind is what matters here). A point read of the
  // node's record, as the HTTP script route does.
  std::optional<state::NodeStatus> status;
  if (boot::dependsOnState(match)) {
    if (auto rec = ctx_.store.getNode(name); !rec) {
      ctx_.log->warn("STATE_READ_FAILED node={} error={}", name, rec.error().message);
    } else if (*rec) {
      status = (*rec)->status;
    }
  }
  boot::ClientIdentity client;
  client.ipxe = true;
  const auto decision = boot::decide(config, match, client, status);

  // Secure Boot profiles never go back to iPXE: their configuration boots the boot
  // environment itself (named after the script kind, "grub install (x86_64 efi, signed
  // chain)"); everyone else gets `local`, or `ipxe` to fetch the new script.
  const bool signed_chain = match.profile && match.profile->secure_boot &&
                            decision.script != boot::ScriptKind::kLocalBoot;
  Result<std::string> text = std::string();
  std::string_view kind_name;
  if (signed_chain) {
    kind_name = templates::scriptName(decision.script);
    text = signedChainConfig(config, name, *mac, decision, from);
  } else {
    templates::GrubParams params;
    params.node = name;
    auto kind = templates::GrubConfig::kLocal;
    if (decision.script != boot::ScriptKind::kLocalBoot) {
      kind = templates::GrubConfig::kIpxe;
      params.message = fmt::format("{} no longer boots its disk: {}", name, decision.reason);
      params.ipxe_loader = match.profile && match.profile->efi_loader
                               ? std::string(cluster::toString(*match.profile->efi_loader))
                               : config.server.boot.efi_loader;
    }
    kind_name = templates::grubConfigName(kind);
    text = templates::renderGrubConfig(kind, params);
  }
  if (!text) {
    // Not found: GRUB's entry configuration waits and reboots.
    ctx_.log->warn("GRUB_CONFIG_REFUSED node={} reason={}", name, text.error().message);
    return std::nullopt;
  }
  ctx_.log->info("SCRIPT_SERVED node={} mac={} action=grub-{} arch=x86_64 platform=efi{}", name,
                 mac->str(), kind_name, signed_chain ? " secure_boot=true" : "");
  timeline_.post(
      name, "script_served",
      fmt::format("grub {} (x86_64 efi{})", kind_name, signed_chain ? ", signed chain" : ""));
  return std::move(*text);
}

}  // namespace drover::server
