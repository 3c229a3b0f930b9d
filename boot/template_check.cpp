#include "boot/template_check.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "boot/template_data.hpp"
#include "templates/template.hpp"

namespace drover::boot {

cluster::Diagnostics checkTemplates(const cluster::Inventory& inv) {
  const auto& config = inv.config();
  cluster::Diagnostics out;
  const auto data = sampleTemplateData(inv);
  for (const auto& [name, profile] : config.profiles) {
    if (!profile.cloud_config) continue;
    const auto& key = *profile.cloud_config;
    auto problem = [&](std::string message) {
      out.push_back({config.file, key.pos, key.path, std::move(message)});
    };
    std::ifstream in(profile.cloud_config_file, std::ios::binary);
    if (!in) {
      problem(fmt::format("cannot read template {}", profile.cloud_config_file.string()));
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = templates::Template::parse(key.value, text.str());
    if (!parsed) {
      problem(parsed.error().message);
      continue;
    }
    if (auto missing = parsed->missingNames(data); !missing.empty()) {
      problem(templates::describeMissing(key.value, missing));
    }
  }
  return out;
}

namespace {

// Empty when `path` is a readable regular file, else why not.
std::string unreadable(const std::string& path) {
  std::error_code ec;
  const bool regular = std::filesystem::is_regular_file(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (regular && in) return {};
  return regular ? "cannot be read" : "no such file";
}

}  // namespace

cluster::Diagnostics checkBootFiles(const cluster::Config& config) {
  cluster::Diagnostics out;
  const auto& grub = config.server.boot.grub_efi;
  if (!grub.empty()) {
    if (auto why = unreadable(grub); !why.empty()) {
      out.push_back(
          {config.file,
           {},
           "server.boot.grub_efi",
           fmt::format("{}: {}; it boots the disk of installed x64 UEFI machines (install "
                       "the Debian package grub-efi-amd64-signed, name another file, or "
                       "set it to \"\" to have them sanboot from iPXE)",
                       grub, why)});
    }
  }
  const auto& df = config.defaults;
  if (df.boot_env_arm64 && config.server.boot.arm64_loader.empty()) {
    if (auto why = unreadable(config.server.boot.grub_efi_arm64); !why.empty()) {
      out.push_back({config.file, df.boot_env_arm64->pos, "server.boot.grub_efi_arm64",
                     fmt::format("{}: {}; arm64 machines boot through it since "
                                 "defaults.boot_env_arm64 is declared (dpkg --add-architecture "
                                 "arm64, then install grub-efi-arm64-signed:arm64, or name "
                                 "another file)",
                                 config.server.boot.grub_efi_arm64, why)});
    }
  }
  const cluster::Profile* secure = nullptr;
  for (const auto& [name, p] : config.profiles)
    if (p.secure_boot) secure = &p;
  if (secure == nullptr) return out;
  if (grub.empty()) {
    out.push_back({config.file, secure->pos, secure->path + ".boot.secure_boot",
                   "needs the signed network GRUB, but server.boot.grub_efi is off"});
  }
  if (auto why = unreadable(config.server.boot.shim_efi); !why.empty()) {
    out.push_back({config.file, secure->pos, "server.boot.shim_efi",
                   fmt::format("{}: {}; profile {} boots through it (install the Debian package "
                               "shim-signed, or name another signed shim)",
                               config.server.boot.shim_efi, why, secure->name)});
  }
  return out;
}

}  // namespace drover::boot
