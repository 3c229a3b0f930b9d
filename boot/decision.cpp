#include "boot/decision.hpp"

#include <array>
#include <charconv>

#include <fmt/format.h>

namespace drover::boot {
namespace {

using state::NodeState;

// Option 93 code 9 is "EFI BC" in RFC 4578 but x64 UEFI firmware sends it (the RFC's 7
// and 9 were swapped, errata 4624), so it runs the x64 loader.
constexpr std::array<Architecture, 10> kArchitectures{{
    {0, "bios", "x86 BIOS", Firmware::kBios, Loader::kBios, "i386"},
    {6, "efi-ia32", "x86 (32-bit) UEFI", Firmware::kUefi, Loader::kNone, "i386"},
    {7, "efi-x64", "x64 UEFI", Firmware::kUefi, Loader::kEfiX64, "x86_64"},
    {9, "efi-bc", "EFI BC (x64 UEFI)", Firmware::kUefi, Loader::kEfiX64, "x86_64"},
    {10, "efi-arm32", "ARM 32-bit UEFI", Firmware::kUefi, Loader::kNone, "arm32"},
    {11, "efi-arm64", "ARM 64-bit UEFI", Firmware::kUefi, Loader::kEfiArm64, "arm64"},
    {15, "http-ia32", "x86 (32-bit) UEFI HTTP boot", Firmware::kUefiHttp, Loader::kNone, "i386"},
    {16, "http-x64", "x64 UEFI HTTP boot", Firmware::kUefiHttp, Loader::kEfiX64, "x86_64"},
    {18, "http-arm32", "ARM 32-bit UEFI HTTP boot", Firmware::kUefiHttp, Loader::kNone, "arm32"},
    {19, "http-arm64", "ARM 64-bit UEFI HTTP boot", Firmware::kUefiHttp, Loader::kEfiArm64,
     "arm64"},
}};

std::optional<std::uint16_t> parseCode(std::string_view text) {
  unsigned code = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (ec != std::errc() || end != text.data() + text.size() || code > 0xffff) return std::nullopt;
  return static_cast<std::uint16_t>(code);
}

// The "Arch:NNNNN" field PXE and HTTP boot clients put in their vendor class.
std::optional<std::uint16_t> vendorClassArch(std::string_view vendor_class) {
  constexpr std::string_view kField = "Arch:";
  const auto at = vendor_class.find(kField);
  if (at == std::string_view::npos) return std::nullopt;
  return parseCode(vendor_class.substr(at + kField.size(), 5));
}

std::string describe(const Architecture& a) {
  return fmt::format("{} (option 93 code {})", a.title, a.code);
}

// Which loader file the architecture runs; empty when there is none (reason says why).
std::string loaderFile(const cluster::Config& c, const cluster::Profile* profile,
                       const Architecture& a, bool http, std::string& reason) {
  switch (a.loader) {
    case Loader::kBios:
      if (http) {
        reason += "; HTTPClient on x86 BIOS: BIOS firmware does not boot over HTTP, no boot file";
        return {};
      }
      return c.server.boot.bios_loader;
    case Loader::kEfiX64:
      if (profile && profile->efi_loader)
        return std::string(cluster::toString(*profile->efi_loader));
      return c.server.boot.efi_loader;
    case Loader::kEfiArm64:
      if (!c.server.boot.arm64_loader.empty()) return c.server.boot.arm64_loader;
      if (!c.defaults.boot_env_arm64) {
        reason += fmt::format(
            "; {}: no arm64 boot environment (defaults.boot_env_arm64) and no arm64 loader "
            "(server.boot.arm64_loader): no boot file",
            describe(a));
        return {};
      }
      if (http) {
        reason += fmt::format(
            "; {}: the arm64 network GRUB reads its configuration over TFTP, so HTTP boot gets "
            "nothing (set server.boot.arm64_loader for a loader over HTTP): no boot file",
            describe(a));
        return {};
      }
      reason += fmt::format(
          ": the arm64 network GRUB ({}) and its grub.cfg over TFTP (Debian has no arm64 iPXE)",
          kGrubArm64Name);
      return std::string(kGrubArm64Name);
    case Loader::kNone:
      break;
  }
  reason += fmt::format("; unsupported architecture {}: Drover has no loader for it, no boot file",
                        describe(a));
  return {};
}

ScriptKind declaredScript(const cluster::Match& m, const std::optional<state::NodeStatus>& status,
                          std::string& reason) {
  const auto kind = scriptForState(status);
  const std::string record = status ? std::string(state::toString(status->state)) : "no record";
  switch (kind) {
    case ScriptKind::kCapture:
      reason = fmt::format("node is {} with a capture requested: capture its disk", record);
      return kind;
    case ScriptKind::kLocalBoot:
      reason = fmt::format("node is {}: boot from local disk", record);
      return kind;
    case ScriptKind::kFailed:
      reason = "the last install failed: show why and retry (drover reinstall clears it)";
      return kind;
    default:
      break;
  }
  if (!m.profile || !m.profile->install) {
    reason = "profile installs nothing: boot from local disk";
    return ScriptKind::kLocalBoot;
  }
  reason = status && status->reinstall_requested
               ? fmt::format("reinstall requested: install profile {}", m.profile->name)
               : fmt::format("node is not installed yet ({}): install profile {}", record,
                             m.profile->name);
  return ScriptKind::kInstall;
}

ScriptKind scriptFor(const cluster::Match& m, const std::optional<state::NodeStatus>& status,
                     std::string& reason) {
  if (m.known()) return declaredScript(m, status, reason);
  switch (m.policy) {
    case cluster::UnknownPolicy::Discover:
      reason = "unknown machine: defaults.unknown is discover";
      return ScriptKind::kDiscover;
    case cluster::UnknownPolicy::Install:
      if (dependsOnState(m)) {
        const auto kind = declaredScript(m, status, reason);
        reason = "unknown machine: defaults.unknown is install; " + reason;
        return kind;
      }
      reason = "unknown machine: defaults.unknown is install, but no profile installs: discover";
      return ScriptKind::kDiscover;
    case cluster::UnknownPolicy::Ignore:
      break;
  }
  reason = "unknown machine, not in the inventory: defaults.unknown is ignore";
  return ScriptKind::kIgnore;
}

}  // namespace

bool dependsOnState(const cluster::Match& m) {
  return m.known() ||
         (m.policy == cluster::UnknownPolicy::Install && m.profile && m.profile->install);
}

std::span<const Architecture> architectures() {
  return kArchitectures;
}

const Architecture* architectureByCode(std::uint16_t code) {
  for (const auto& a : kArchitectures)
    if (a.code == code) return &a;
  return nullptr;
}

const Architecture* findArchitecture(std::string_view text) {
  for (const auto& a : kArchitectures)
    if (a.name == text) return &a;
  if (auto code = parseCode(text)) return architectureByCode(*code);
  return nullptr;
}

LocalBoot localBoot(const cluster::Config& c, bool efi, std::string_view build_arch) {
  if (!efi) return {DiskHandoff::kSanboot, "BIOS: iPXE sanboots the first disk (drive 0x80)"};
  if (build_arch != "x86_64") {
    return {DiskHandoff::kSanboot,
            fmt::format("UEFI {}: no network GRUB for it, iPXE tries sanboot on the first disk",
                        build_arch.empty() ? "(architecture not reported)" : build_arch)};
  }
  if (c.server.boot.grub_efi.empty()) {
    return {
        DiskHandoff::kSanboot,
        "x64 UEFI, server.boot.grub_efi is off: iPXE tries sanboot, then exits to the firmware"};
  }
  return {DiskHandoff::kGrub,
          fmt::format("x64 UEFI: iPXE chains the network GRUB ({}), whose grub.cfg starts the EFI "
                      "loader of the installed disk",
                      kGrubEfiName)};
}

const cluster::Image* bootEnv(const cluster::Config& c, bool arm64) {
  if (arm64 && c.defaults.boot_env_arm64) return c.findImage(c.defaults.boot_env_arm64->value);
  return c.findImage(c.defaults.boot_env.value);
}

std::string httpUrl(const cluster::Config& c, std::string_view path) {
  // Built per script request: concatenation, not a format string.
  std::string url = "http://" + c.server.advertise.str();
  url += ':';
  url += std::to_string(c.server.http.listen.port);
  url += path;
  return url;
}

std::string scriptUrl(const cluster::Config& c) {
  return httpUrl(c, "/boot.ipxe");
}

ClientFirmware clientFirmware(const ClientIdentity& client) {
  ClientFirmware f;
  const bool http_vendor = client.vendor_class.starts_with("HTTPClient");
  std::optional<std::uint16_t> code = client.arch;
  if (!code) code = vendorClassArch(client.vendor_class);
  if (code) {
    f.arch = architectureByCode(*code);
    if (!f.arch)
      f.reason = fmt::format(
          "unsupported architecture: option 93 code {} is not in the table, no boot file", *code);
  } else if (http_vendor) {
    f.arch = architectureByCode(16);
    f.reason = "HTTPClient without option 93: assumed x64 UEFI HTTP boot";
  } else if (client.vendor_class.starts_with("PXEClient")) {
    f.arch = architectureByCode(0);
    f.reason = "PXEClient without option 93: assumed x86 BIOS";
  } else {
    f.reason =
        "not a network boot client (no option 93, vendor class not PXEClient or HTTPClient): no "
        "boot file";
  }
  f.http = f.arch && (f.arch->firmware == Firmware::kUefiHttp || http_vendor);
  return f;
}

ScriptKind scriptForState(const std::optional<state::NodeStatus>& status) {
  if (!status) return ScriptKind::kInstall;
  const bool has_disk =
      status->state == NodeState::kInstalled || status->state == NodeState::kJoined;
  if (status->capture_requested && has_disk) return ScriptKind::kCapture;
  if (status->reinstall_requested) return ScriptKind::kInstall;
  switch (status->state) {
    case NodeState::kInstalled:
    case NodeState::kJoined:
      return ScriptKind::kLocalBoot;
    case NodeState::kFailed:
      return ScriptKind::kFailed;
    case NodeState::kDiscovered:
    case NodeState::kInstalling:
      return ScriptKind::kInstall;
  }
  return ScriptKind::kInstall;
}

Decision decide(const cluster::Config& c, const cluster::Match& m, const ClientIdentity& client,
                const std::optional<state::NodeStatus>& status) {
  Decision d;
  d.script = scriptFor(m, status, d.reason);
  if (d.script == ScriptKind::kIgnore) {
    d.reason += ": no boot answer";
    return d;
  }
  const bool boots_env = d.script == ScriptKind::kInstall || d.script == ScriptKind::kDiscover ||
                         d.script == ScriptKind::kCapture;
  if (boots_env) {
    d.profile = m.profile;
    d.boot_env = bootEnv(c, false);
  }

  const bool secure = m.profile && m.profile->secure_boot;
  if (secure) d.reason += fmt::format("; profile {} boots with Secure Boot", m.profile->name);
  if (client.ipxe && secure) {
    d.reason += ": iPXE is not part of the signed chain, no boot file";
    return d;
  }
  if (client.ipxe) {
    d.delivery = Delivery::kHttp;
    d.file = scriptUrl(c);
    d.reason += "; client runs iPXE: chain to the script";
    return d;
  }
  const auto firmware = clientFirmware(client);
  if (!firmware.reason.empty()) d.reason += "; " + firmware.reason;
  d.arch = firmware.arch;
  if (!d.arch) return d;
  if (boots_env && d.arch->loader == Loader::kEfiArm64) d.boot_env = bootEnv(c, true);
  const bool http = firmware.http;
  if (secure) {
    if (d.arch->loader != Loader::kEfiX64 || http) {
      d.reason += fmt::format(": the signed chain is for x64 UEFI PXE, not {}{}; no boot file",
                              describe(*d.arch), http ? " over HTTP" : "");
      return d;
    }
    d.reason += fmt::format(
        ": Debian's signed shim ({}), then the signed network GRUB ({}) "
        "and its grub.cfg, over TFTP",
        kShimEfiName, kShimGrubName);
    d.delivery = Delivery::kTftp;
    d.file = std::string(kShimEfiName);
    return d;
  }
  std::string file = loaderFile(c, m.profile, *d.arch, http, d.reason);
  if (file.empty()) return d;
  if (http) {
    d.delivery = Delivery::kHttp;
    d.file = httpUrl(c, "/" + file);
    d.http_client = true;
  } else {
    d.delivery = Delivery::kTftp;
    d.file = std::move(file);
  }
  return d;
}

}  // namespace drover::boot
