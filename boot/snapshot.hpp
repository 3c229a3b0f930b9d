// The published cluster declaration: one immutable view of the inventory and the indexes
// the boot servers need, built once per (re)load and then shared read-only. Every server
// (DHCP boot policy, HTTP routes, API) reads it through an InventorySource, so a config
// reload swaps what every later request sees; a request keeps the snapshot it started with.
#pragma once

#include <memory>
#include <unordered_map>

#include "cluster/inventory.hpp"
#include "common/net.hpp"

namespace drover::boot {

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

}  // namespace drover::boot
