#include "dhcp/server/policy.hpp"

#include <algorithm>

namespace drover::dhcp {
namespace {

bool startsWith(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

BootAnswer StaticBootPolicy::decide(const ClientFacts& facts) const {
  BootAnswer a;
  if (std::find(config_.ignored.begin(), config_.ignored.end(), facts.mac) !=
      config_.ignored.end()) {
    a.kind = BootAnswer::Kind::Ignore;
    return a;
  }
  for (const auto& r : config_.reservations) {
    if ((r.mac && *r.mac == facts.mac) || (r.uuid && facts.uuid && *r.uuid == *facts.uuid)) {
      a.kind = BootAnswer::Kind::Reserved;
      a.reserved_ip = r.ip;
      a.hostname = r.hostname;
      break;
    }
  }
  if (a.kind == BootAnswer::Kind::Pool && config_.ignore_unknown) {
    a.kind = BootAnswer::Kind::Ignore;
    return a;
  }
  a.next_server = config_.next_server;
  const bool http_vendor = startsWith(facts.vendor_class, "HTTPClient");
  const bool pxe_vendor = startsWith(facts.vendor_class, "PXEClient");
  if (facts.is_ipxe) {
    if (!config_.http_base.empty()) a.boot_file = config_.http_base + config_.script_path;
  } else if (http_vendor || facts.arch == arch::kEfiX64Http || facts.arch == arch::kEfiArm64Http) {
    if (!config_.http_base.empty()) {
      a.boot_file = config_.http_base + config_.http_boot_path;
      a.http_client = true;
    }
  } else if (facts.arch) {
    switch (*facts.arch) {
      case arch::kBiosX86:
        a.boot_file = config_.bios_file;
        break;
      case arch::kEfiIa32:
      case arch::kEfiX64:
      case arch::kEfiBc:
        a.boot_file = config_.efi_file;
        break;
      case arch::kEfiArm64:
        a.boot_file = config_.arm64_file;
        break;
      default:
        break;
    }
  } else if (pxe_vendor) {
    a.boot_file = config_.bios_file;
  }
  return a;
}

bool StaticBootPolicy::isReserved(Ipv4Address ip) const {
  return std::any_of(config_.reservations.begin(), config_.reservations.end(),
                     [&](const StaticReservation& r) { return r.ip == ip; });
}

}  // namespace drover::dhcp
