// The DHCP server's BootPolicy over the published declaration: who a client is (node by
// MAC or UUID, or unknown), which address it gets (its reservation, the pool, or no
// answer), and the first boot file its firmware is handed (boot::decide, decision.hpp).
//
// The snapshot is read through an InventorySource, so a config reload swaps what every
// later request sees without touching the DHCP server.
#pragma once

#include "boot/decision.hpp"
#include "boot/snapshot.hpp"
#include "dhcp/server/policy.hpp"

namespace drover::boot {

class InventoryBootPolicy final : public dhcp::BootPolicy {
 public:
  explicit InventoryBootPolicy(const InventorySource& source) : source_(source) {}

  dhcp::BootAnswer decide(const dhcp::ClientFacts& facts) const override;
  bool isReserved(Ipv4Address ip) const override;

 private:
  const InventorySource& source_;
};

// What the decision needs of a DHCP client's firmware: option 93, vendor class, iPXE.
ClientIdentity clientIdentityOf(const dhcp::ClientFacts& facts);

}  // namespace drover::boot
