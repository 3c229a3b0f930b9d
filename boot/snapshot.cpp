#include "boot/snapshot.hpp"

namespace drover::boot {

std::shared_ptr<const Snapshot> Snapshot::build(std::shared_ptr<const cluster::Config> config) {
  auto s = std::make_shared<Snapshot>(Snapshot{cluster::Inventory::build(config), {}});
  for (const auto& node : s->inventory.config().nodes) {
    if (node.ip) s->node_by_ip.emplace(node.ip->value, &node);
  }
  return s;
}

}  // namespace drover::boot
