// How the DHCP server asks the provisioner what to do with a client. The server gathers the
// facts from the request; the policy answers ignore / pool / reserved address, and the boot
// file. The provisioner implements BootPolicy over its inventory (boot/dhcp_policy.hpp,
// with the boot decision in boot/decision.hpp); the DHCP tests use a static one
// (tests/dhcp/support/static_policy.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

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

}  // namespace drover::dhcp
