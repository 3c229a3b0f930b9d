// How the DHCP server asks the provisioner what to do with a client. The server gathers the
// facts from the request; the policy answers ignore / pool / reserved address, and the boot
// file. The provisioner implements BootPolicy over its inventory; StaticBootPolicy is a
// small table-driven one for tests, the harness and simple setups.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/wire.hpp"

namespace drover::dhcp {

struct ClientFacts {
  MacAddress mac;
  std::optional<drover::wire::Bytes> client_id;  // option 61
  std::optional<Uuid> uuid;                      // option 97
  std::optional<std::uint16_t> arch;             // option 93, first entry (RFC 4578)
  std::string vendor_class;                      // option 60
  std::string user_class;                        // option 77 as sent ("iPXE")
  bool is_ipxe = false;                          // 77 "iPXE" or 175 present
  Ipv4Address giaddr;
  std::string interface;
  std::string network;  // name of the network the request was matched to
};

struct BootAnswer {
  enum class Kind { Ignore, Pool, Reserved };
  Kind kind = Kind::Pool;
  Ipv4Address reserved_ip;   // Kind::Reserved
  std::string boot_file;     // "undionly.kpxe", "ipxe.efi", an http:// URL; empty: no boot
  Ipv4Address next_server;   // unspecified: the server's own address
  bool http_client = false;  // UEFI HTTP boot: reply carries option 60 "HTTPClient"
  std::string hostname;      // option 12 if not empty
};

class BootPolicy {
 public:
  virtual ~BootPolicy() = default;
  virtual BootAnswer decide(const ClientFacts& facts) const = 0;
  // True if `ip` is reserved for some client: the pool never hands it to anyone else.
  virtual bool isReserved(Ipv4Address /*ip*/) const { return false; }
};

// Firmware architecture (option 93, RFC 4578 / IANA processor architecture types).
namespace arch {
inline constexpr std::uint16_t kBiosX86 = 0;
inline constexpr std::uint16_t kEfiIa32 = 6;
inline constexpr std::uint16_t kEfiX64 = 7;
inline constexpr std::uint16_t kEfiBc = 9;
inline constexpr std::uint16_t kEfiArm64 = 11;
inline constexpr std::uint16_t kEfiX64Http = 16;
inline constexpr std::uint16_t kEfiArm64Http = 19;
}  // namespace arch

struct StaticReservation {
  std::optional<MacAddress> mac;
  std::optional<Uuid> uuid;
  Ipv4Address ip;
  std::string hostname;
};

// The boot decision table: iPXE -> HTTP script; arch 0 -> undionly.kpxe; 6/7/9 -> ipxe.efi;
// 11 -> arm64 loader; 16/19 or vendor class HTTPClient -> HTTP URL of the EFI loader with
// option 60 HTTPClient; other PXEClients -> undionly.kpxe; everything else: no boot file.
class StaticBootPolicy final : public BootPolicy {
 public:
  struct Config {
    std::vector<StaticReservation> reservations;
    std::vector<MacAddress> ignored;
    bool ignore_unknown = false;               // only reserved clients are answered
    std::string http_base;                     // "http://192.0.2.1:8080"; empty: no HTTP boot
    std::string script_path = "/boot.ipxe";    // for clients already in iPXE
    std::string http_boot_path = "/ipxe.efi";  // for UEFI HTTP boot clients
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

}  // namespace drover::dhcp
