// A small table-driven BootPolicy for the DHCP tests, the harness and the engine fuzzer:
// reservations by MAC or UUID, ignored MACs, and the first file by firmware from the one
// architecture table (boot/decision.hpp): iPXE -> <http_base>/boot.ipxe; a BIOS loader ->
// bios_file, x64 UEFI -> efi_file, arm64 UEFI -> arm64_file (over TFTP, or for UEFI HTTP
// boot as <http_base>/<file> with option 60 HTTPClient); unsupported architectures and
// plain OS clients -> no boot file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "dhcp/server/policy.hpp"

namespace drover::dhcp::test {

struct StaticReservation {
  std::optional<MacAddress> mac;
  std::optional<Uuid> uuid;
  Ipv4Address ip;
  std::string hostname;
};

class StaticBootPolicy final : public BootPolicy {
 public:
  struct Config {
    std::vector<StaticReservation> reservations;
    std::vector<MacAddress> ignored;
    bool ignore_unknown = false;             // only reserved clients are answered
    std::string http_base;                   // "http://192.0.2.1:8080"; empty: no HTTP boot
    std::string script_path = "/boot.ipxe";  // for clients already in iPXE
    std::string bios_file = "undionly.kpxe";
    std::string efi_file = "ipxe.efi";
    std::string arm64_file = "ipxe-arm64.efi";
    Ipv4Address next_server;
  };

  explicit StaticBootPolicy(Config config) : config_(std::move(config)) {}

  BootAnswer decide(const ClientFacts& facts) const override;
  bool isReserved(Ipv4Address ip) const override;

 private:
  Config config_;
};

}  // namespace drover::dhcp::test
