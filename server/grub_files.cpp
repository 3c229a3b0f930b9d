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
constexpr std::string_view kNodeDir = "grub/drover/";
constexpr std::string_view kNodeSuffix = ".cfg";
constexpr std::string_view kArm64 = "arm64";
constexpr std::string_view kX64 = "x86_64";

// The arm64 network GRUB is the first file of arm64 machines (boot/decision.hpp).
bool arm64Grub(const cluster::Config& c) {
  return c.defaults.boot_env_arm64 && c.server.boot.arm64_loader.empty() &&
         !c.server.boot.grub_efi_arm64.empty();
}

bool grubOn(const cluster::Config& c, std::string_view cpu) {
  return cpu == kArm64 ? arm64Grub(c) : !c.server.boot.grub_efi.empty();
}

// grub/<cpu>-efi/<name>.lst: the module lists GRUB asks for (it loads no modules).
bool moduleList(std::string_view path) {
  for (std::string_view dir : {"grub/x86_64-efi/", "grub/arm64-efi/"}) {
    if (path.starts_with(dir) && path.ends_with(".lst") &&
        path.find('/', dir.size()) == std::string_view::npos)
      return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> GrubFiles::lookup(std::string_view path, const tftp::Endpoint& client) {
  if (!path.starts_with("grub/")) return std::nullopt;
  auto snapshot = ctx_.source.current();
  if (!snapshot) return std::nullopt;
  const auto& config = snapshot->inventory.config();
  if (!grubOn(config, kX64) && !grubOn(config, kArm64)) return std::nullopt;
  if (path == kEntry) return std::string(templates::grubEntryConfig());
  if (moduleList(path)) return std::string();
  if (!path.starts_with(kNodeDir) || !path.ends_with(kNodeSuffix)) return std::nullopt;
  // grub/drover/<cpu>/<mac>.cfg
  auto rest = path.substr(kNodeDir.size(), path.size() - kNodeDir.size() - kNodeSuffix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto cpu = rest.substr(0, slash);
  if ((cpu != kX64 && cpu != kArm64) || !grubOn(config, cpu)) return std::nullopt;
  return nodeConfig(rest.substr(slash + 1), cpu, client);
}

std::optional<std::filesystem::path> GrubFiles::file(std::string_view path, const tftp::Endpoint&) {
  const bool arm64_env =
      path == boot::kBootEnvArm64KernelPath || path == boot::kBootEnvArm64InitrdPath;
  const bool env =
      arm64_env || path == boot::kBootEnvKernelPath || path == boot::kBootEnvInitrdPath;
  const bool chain =
      path == boot::kShimEfiName || path == boot::kShimGrubName || path == boot::kGrubArm64Name;
  if (!chain && !env) return std::nullopt;
  auto snapshot = ctx_.source.current();
  if (!snapshot) return std::nullopt;
  const auto& config = snapshot->inventory.config();
  if (path == boot::kShimEfiName) return std::filesystem::path(config.server.boot.shim_efi);
  if (path == boot::kShimGrubName) {
    if (config.server.boot.grub_efi.empty()) return std::nullopt;
    return std::filesystem::path(config.server.boot.grub_efi);
  }
  if (path == boot::kGrubArm64Name) {
    if (!arm64Grub(config)) return std::nullopt;
    return std::filesystem::path(config.server.boot.grub_efi_arm64);
  }
  if (arm64_env && !config.defaults.boot_env_arm64) return std::nullopt;
  const auto* image = boot::bootEnv(config, arm64_env);
  if (image == nullptr) return std::nullopt;
  const bool kernel = path == boot::kBootEnvKernelPath || path == boot::kBootEnvArm64KernelPath;
  auto real = imageArtifactPath(config, *image, kernel ? "kernel" : "initrd");
  if (!real) {
    ctx_.log->warn("TFTP_BOOT_ENV_UNAVAILABLE path={} error={}", path, real.error().message);
    return std::nullopt;
  }
  return *real;
}

Result<std::string> GrubFiles::bootEnvConfig(const cluster::Config& config, const std::string& name,
                                             const MacAddress& mac, std::string_view cpu,
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
  auto script = scriptParams(config, kind, name, true, cpu, decision.profile, at);
  if (!script) return script.error();
  auto token = issueScriptToken(ctx_, config, name, mac, client.address());
  if (!token) return token.error();
  script->token = *token;
  const bool arm64 = cpu == kArm64;
  params.message = fmt::format("{} {} through the network GRUB", templates::scriptName(kind), name);
  params.kernel_path =
      std::string(arm64 ? boot::kBootEnvArm64KernelPath : boot::kBootEnvKernelPath);
  params.initrd_path =
      std::string(arm64 ? boot::kBootEnvArm64InitrdPath : boot::kBootEnvInitrdPath);
  params.kernel_args = agentKernelArgs(*script, templates::scriptName(kind));
  return templates::renderGrubConfig(templates::GrubConfig::kLinux, params);
}

std::optional<std::string> GrubFiles::nodeConfig(std::string_view mac_text, std::string_view cpu,
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
  // came from the iPXE script or its firmware: the script kind is what matters here). A
  // point read of the node's record, as the HTTP script route does.
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

  // arm64 machines and Secure Boot profiles never go (back) to iPXE: their configuration
  // boots the boot environment itself (named after the script kind, "grub install (arm64
  // efi)"); everyone else gets `local`, or `ipxe` to fetch the new script.
  const bool arm64 = cpu == kArm64;
  const bool secure = match.profile && match.profile->secure_boot;
  const bool env_chain = (arm64 || secure) && decision.script != boot::ScriptKind::kLocalBoot;
  Result<std::string> text = std::string();
  std::string_view kind_name;
  if (env_chain) {
    kind_name = templates::scriptName(decision.script);
    text = bootEnvConfig(config, name, *mac, cpu, decision, from);
  } else {
    templates::GrubParams params;
    params.node = name;
    params.arm64 = arm64;
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
  ctx_.log->info("SCRIPT_SERVED node={} mac={} action=grub-{} arch={} platform=efi{}", name,
                 mac->str(), kind_name, cpu, secure ? " secure_boot=true" : "");
  timeline_.post(name, "script_served",
                 fmt::format("grub {} ({} efi{})", kind_name, cpu, secure ? ", signed chain" : ""));
  return std::move(*text);
}

}  // namespace drover::server
