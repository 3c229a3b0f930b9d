#include "cluster/boot.hpp"

#include <fmt/format.h>

namespace drover::cluster {
namespace {

std::string efiLoader(const Config& c, const Profile* p) {
  if (p && p->efi_loader) return std::string(toString(*p->efi_loader));
  return c.server.boot.efi_loader;
}

BootAction actionFor(const Match& m, NodeState state, std::string& reason) {
  if (m.known()) {
    if (state == NodeState::Installed) {
      reason = "node is installed: boot from local disk";
      return BootAction::LocalDisk;
    }
    if (m.profile && m.profile->install) {
      reason = fmt::format("node is not installed yet: install profile {}", m.profile->name);
      return BootAction::Install;
    }
    reason = "profile installs nothing: boot from local disk";
    return BootAction::LocalDisk;
  }
  switch (m.policy) {
    case UnknownPolicy::Discover:
      reason = "unknown machine: defaults.unknown is discover";
      return BootAction::Discover;
    case UnknownPolicy::Install:
      reason = "unknown machine: defaults.unknown is install";
      return m.profile && m.profile->install ? BootAction::Install : BootAction::Discover;
    case UnknownPolicy::Ignore:
      break;
  }
  reason = "unknown machine: defaults.unknown is ignore";
  return BootAction::Ignore;
}

}  // namespace

Result<ClientArch> parseClientArch(std::string_view text) {
  if (text == "bios") return ClientArch::Bios;
  if (text == "efi-x64") return ClientArch::EfiX64;
  if (text == "efi-arm64") return ClientArch::EfiArm64;
  if (text == "http-x64") return ClientArch::HttpX64;
  return makeError("bad_arch", fmt::format("\"{}\" is not one of: bios, efi-x64, efi-arm64, "
                                           "http-x64",
                                           text));
}

std::string_view toString(ClientArch a) {
  switch (a) {
    case ClientArch::Bios:
      return "bios";
    case ClientArch::EfiX64:
      return "efi-x64";
    case ClientArch::EfiArm64:
      return "efi-arm64";
    case ClientArch::HttpX64:
      return "http-x64";
  }
  return "?";
}

std::optional<ClientArch> clientArchFromOption93(std::uint16_t code) {
  switch (code) {
    case 0:
      return ClientArch::Bios;
    case 7:
    case 9:
      return ClientArch::EfiX64;
    case 11:
      return ClientArch::EfiArm64;
    case 16:
      return ClientArch::HttpX64;
    default:
      return std::nullopt;
  }
}

std::string_view toString(BootAction a) {
  switch (a) {
    case BootAction::Install:
      return "install";
    case BootAction::LocalDisk:
      return "local-disk";
    case BootAction::Discover:
      return "discover";
    case BootAction::Ignore:
      break;
  }
  return "ignore";
}

std::string_view toString(Delivery d) {
  switch (d) {
    case Delivery::Tftp:
      return "tftp";
    case Delivery::Http:
      return "http";
    case Delivery::None:
      break;
  }
  return "none";
}

std::string httpUrl(const Config& c, std::string_view path) {
  return fmt::format("http://{}:{}{}", c.server.advertise.str(), c.server.http.listen.port, path);
}

std::string scriptUrl(const Config& c) {
  return httpUrl(c, "/boot.ipxe");
}

BootDecision decideBoot(const Config& c, const Match& m, const BootRequest& req) {
  BootDecision d;
  d.action = actionFor(m, req.state, d.reason);
  if (d.action == BootAction::Ignore) return d;

  if (d.action == BootAction::Install || d.action == BootAction::Discover) {
    d.boot_env = c.findImage(c.defaults.boot_env.value);
    if (d.action == BootAction::Install) {
      d.profile = m.profile;
      d.kernel_args = m.profile->kernel_args;
    }
  }

  if (req.ipxe) {
    d.delivery = Delivery::Http;
    d.file = scriptUrl(c);
    d.reason += "; client runs iPXE: chain to the script";
    return d;
  }
  switch (req.arch) {
    case ClientArch::Bios:
      d.delivery = Delivery::Tftp;
      d.file = c.server.boot.bios_loader;
      break;
    case ClientArch::EfiX64:
      d.delivery = Delivery::Tftp;
      d.file = efiLoader(c, m.profile);
      break;
    case ClientArch::EfiArm64:
      if (c.server.boot.arm64_loader.empty()) {
        d.reason += "; no arm64 loader configured (server.boot.arm64_loader): no boot answer";
        return d;
      }
      d.delivery = Delivery::Tftp;
      d.file = c.server.boot.arm64_loader;
      break;
    case ClientArch::HttpX64:
      d.delivery = Delivery::Http;
      d.file = httpUrl(c, "/" + efiLoader(c, m.profile));
      break;
  }
  return d;
}

}  // namespace drover::cluster
