// The DHCP server's BootPolicy over the inventory: who a client is (node by MAC or UUID,
// or unknown), which address it gets (its reservation, the pool, or no answer), and the
// first boot file its firmware is handed (cluster::decideBoot).
//
// The inventory is read through an InventorySource, so a config reload swaps what every
// later request sees without touching the DHCP server.
#pragma once

#include <memory>
#include <unordered_map>

#include "dhcp/server/policy.hpp"
#include "cluster/boot.hpp"
#include "cluster/inventory.hpp"

namespace drover::boot {

// One published view of the cluster declaration: the inventory and the indexes the boot
// servers need, built once per (re)load and then shared read-only.
struct Snapshot {
  cluster::Inventory inventory;
  std::unordered_map<Ipv4Address, const cluster::Node*> node_by_ip;  // reservations

  static std::shared_ptr<const Snapshot> build(std::shared_ptr<const cluster::Config> config);
};

// Hands out the current snapshot; implemented by the serving app (swapped on reload) and
// by tests.
class InventorySource {
 public:
  virtual ~InventorySource() = default;
  virtual std::shared_ptr<const Snapshot> current() const = 0;
};

class InventoryBootPolicy final : public dhcp::BootPolicy {
 public:
  explicit InventoryBootPolicy(const InventorySource& source) : source_(source) {}

  dhcp::BootAnswer decide(const dhcp::ClientFacts& facts) const override;
  bool isReserved(Ipv4Address ip) const override;

 private:
  const InventorySource& source_;
};

// The firmware architecture a DHCP client announced (option 93, vendor class), as the
// inventory's boot decision understands it. Clients that send neither are treated as BIOS.
cluster::ClientArch clientArchOf(const dhcp::ClientFacts& facts);

}  // namespace drover::boot
