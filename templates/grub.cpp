#include "templates/grub.hpp"

#include <array>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "templates/ipxe.hpp"
#include "templates/template.hpp"

namespace drover::templates {
namespace {

// ${net_default_mac} is the MAC of the interface GRUB was started from, lowercase with
// colons, as Drover names the file; ${grub_cpu} is the architecture GRUB was built for
// (x86_64, arm64).
// If that file is missing or returns (its boot failed), the machine waits and reboots
// rather than sit at the GRUB prompt.
constexpr std::string_view kGrubEntry = R"(# Drover: ask for this machine's own configuration.
set timeout=0
configfile $prefix/drover/${grub_cpu}/${net_default_mac}.cfg
echo "Drover: no configuration for ${net_default_mac}; asking again in 30 s"
sleep 30
reboot
)";

constexpr std::string_view kLoaderPaths =
    "/EFI/BOOT/BOOTX64.EFI /EFI/debian/shimx64.efi /EFI/debian/grubx64.efi "
    "/EFI/ubuntu/shimx64.efi /EFI/ubuntu/grubx64.efi /EFI/redhat/shimx64.efi "
    "/EFI/rocky/shimx64.efi /EFI/centos/shimx64.efi /EFI/fedora/shimx64.efi";
constexpr std::string_view kLoaderPathsArm64 =
    "/EFI/BOOT/BOOTAA64.EFI /EFI/debian/shimaa64.efi /EFI/debian/grubaa64.efi "
    "/EFI/ubuntu/shimaa64.efi /EFI/ubuntu/grubaa64.efi /EFI/redhat/shimaa64.efi "
    "/EFI/rocky/shimaa64.efi /EFI/centos/shimaa64.efi /EFI/fedora/shimaa64.efi";

// GRUB's chainloader uses $root's device for the loaded image, so the loader finds its own
// files: root is set to the partition the file was found on, then the path is relative.
constexpr std::string_view kLocal =
    R"(# Drover: {{node}} is installed; boot its disk (never a reinstall from here).
set timeout=0
echo "Drover: {{node}} is installed, booting the EFI loader of its disk"
for loader in {{loader_paths}}; do
  if search --no-floppy --file --set=root $loader; then
    echo "Drover: starting $loader on $root"
    chainloader $loader
    boot
  fi
done
echo "Drover: no disk of {{node}} has an EFI loader; asking again in {{retry_seconds}} s"
sleep {{retry_seconds}}
reboot
)";

constexpr std::string_view kIpxe =
    R"(# Drover: {{node}} does not boot its disk now; back to iPXE for its script.
set timeout=0
echo "Drover: {{message}}"
chainloader /{{ipxe_loader}}
boot
echo "Drover: could not start {{ipxe_loader}}; asking again in {{retry_seconds}} s"
sleep {{retry_seconds}}
reboot
)";

// The boot environment's kernel is read through $root, the TFTP server GRUB started from.
constexpr std::string_view kLinux =
    R"(# Drover: {{node}}: the boot environment through the network GRUB.
set timeout=0
echo "Drover: {{message}}"
linux /{{kernel_path}} {{kernel_args}}
initrd /{{initrd_path}}
boot
echo "Drover: could not boot the boot environment; asking again in {{retry_seconds}} s"
sleep {{retry_seconds}}
reboot
)";

constexpr std::string_view kWait =
    R"(# Drover: {{node}} has nothing to boot through the network GRUB now.
set timeout=0
echo "Drover: {{message}}"
echo "Drover: asking again in {{retry_seconds}} s"
sleep {{retry_seconds}}
reboot
)";

// A kernel argument: URL characters that GRUB takes literally in an unquoted word.
bool isGrubArg(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._/:,=+@%~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Letters, digits and -._/ only: a GRUB word that needs no quoting and expands nothing.
bool isGrubWord(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '/';
    if (!ok) return false;
  }
  return true;
}

const Template& builtin(GrubConfig c) {
  static const std::array<Template, 4> parsed = [] {
    auto one = [](GrubConfig k, std::string_view text) {
      auto t = Template::parse(std::string(grubConfigName(k)) + ".grub.cfg", std::string(text));
      if (!t)
        throw std::logic_error("built-in GRUB configuration does not parse: " + t.error().message);
      return std::move(*t);
    };
    return std::array<Template, 4>{one(GrubConfig::kLocal, kLocal), one(GrubConfig::kIpxe, kIpxe),
                                   one(GrubConfig::kLinux, kLinux), one(GrubConfig::kWait, kWait)};
  }();
  return parsed[static_cast<std::size_t>(c)];
}

}  // namespace

std::string_view grubConfigName(GrubConfig c) {
  switch (c) {
    case GrubConfig::kLocal:
      return "local";
    case GrubConfig::kIpxe:
      return "ipxe";
    case GrubConfig::kLinux:
      return "linux";
    case GrubConfig::kWait:
      return "wait";
  }
  return "?";
}

std::string_view grubEntryConfig() {
  return kGrubEntry;
}

std::string_view grubLoaderPaths(bool arm64) {
  return arm64 ? kLoaderPathsArm64 : kLoaderPaths;
}

Result<std::string> renderGrubConfig(GrubConfig c, const GrubParams& p) {
  if (!isGrubWord(p.node)) return makeError("bad_script_value", "node is not a safe GRUB word");
  if (c == GrubConfig::kIpxe && !isGrubWord(p.ipxe_loader))
    return makeError("bad_script_value", "ipxe_loader is not a safe GRUB word");
  std::string args;
  if (c == GrubConfig::kLinux) {
    if (!isGrubWord(p.kernel_path) || !isGrubWord(p.initrd_path))
      return makeError("bad_script_value", "the kernel or initrd path is not a safe GRUB word");
    for (const auto& a : p.kernel_args) {
      if (!isGrubArg(a))
        return makeError("bad_script_value",
                         "kernel argument \"" + ipxeText(a, 60) + "\" is not a safe GRUB word");
      args += (args.empty() ? "" : " ") + a;
    }
  }
  nlohmann::json data = {
      {"node", p.node},
      {"ipxe_loader", p.ipxe_loader},
      // ipxeText keeps letters, digits, space and .,:;_/=+-(): nothing GRUB expands inside
      // double quotes ($, \, ", `).
      {"message", ipxeText(p.message.empty() ? "no reason reported" : p.message)},
      {"loader_paths", std::string(grubLoaderPaths(p.arm64))},
      {"retry_seconds", p.retry_seconds > 0 ? p.retry_seconds : 30},
      {"kernel_path", p.kernel_path},
      {"initrd_path", p.initrd_path},
      {"kernel_args", args},
  };
  return builtin(c).render(data);
}

}  // namespace drover::templates
