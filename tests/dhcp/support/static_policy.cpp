#include "tests/dhcp/support/static_policy.hpp"

#include <algorithm>

#include "boot/decision.hpp"

namespace drover::dhcp::test {

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
  const boot::ClientIdentity client{facts.arch, facts.vendor_class, facts.is_ipxe};
  if (client.ipxe) {
    if (!config_.http_base.empty()) a.boot_file = config_.http_base + config_.script_path;
    return a;
  }
  const auto firmware = boot::clientFirmware(client);
  if (!firmware.arch) return a;
  std::string file;
  switch (firmware.arch->loader) {
    case boot::Loader::kBios:
      if (!firmware.http) file = config_.bios_file;
      break;
    case boot::Loader::kEfiX64:
      file = config_.efi_file;
      break;
    case boot::Loader::kEfiArm64:
      file = config_.arm64_file;
      break;
    case boot::Loader::kNone:
      break;
  }
  if (file.empty()) return a;
  if (!firmware.http) {
    a.boot_file = file;
  } else if (!config_.http_base.empty()) {
    a.boot_file = config_.http_base + "/" + file;
    a.http_client = true;
  }
  return a;
}

bool StaticBootPolicy::isReserved(Ipv4Address ip) const {
  return std::any_of(config_.reservations.begin(), config_.reservations.end(),
                     [&](const StaticReservation& r) { return r.ip == ip; });
}

}  // namespace drover::dhcp::test
