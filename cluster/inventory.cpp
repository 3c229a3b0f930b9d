#include "cluster/inventory.hpp"

#include <algorithm>

namespace drover::cluster {
namespace {

bool isNilUuid(const Uuid& u) {
  const auto& b = u.bytes();
  return std::all_of(b.begin(), b.end(), [](auto x) { return x == 0; }) ||
         std::all_of(b.begin(), b.end(), [](auto x) { return x == 0xff; });
}

}  // namespace

std::string_view toString(MatchedBy by) {
  switch (by) {
    case MatchedBy::Mac:
      return "mac";
    case MatchedBy::Uuid:
      return "uuid";
    case MatchedBy::None:
      break;
  }
  return "none";
}

Uuid swapUuidByteOrder(const Uuid& u) {
  auto b = u.bytes();
  std::reverse(b.begin(), b.begin() + 4);
  std::reverse(b.begin() + 4, b.begin() + 6);
  std::reverse(b.begin() + 6, b.begin() + 8);
  return Uuid(b);
}

Inventory Inventory::build(std::shared_ptr<const Config> config) {
  Inventory inv;
  inv.config_ = std::move(config);
  const auto& nodes = inv.config_->nodes;
  inv.by_mac_.reserve(nodes.size() + nodes.size() / 4);
  inv.by_uuid_.reserve(nodes.size());
  inv.by_name_.reserve(nodes.size());
  for (const auto& node : nodes) {
    // A checked Config has no duplicates; should one slip through, the first node wins.
    for (const auto& mac : node.macs) inv.by_mac_.try_emplace(mac.value, &node);
    if (node.uuid) inv.by_uuid_.try_emplace(node.uuid->value, &node);
    inv.by_name_.try_emplace(node.name.value, &node);
  }
  return inv;
}

Match Inventory::match(const MacAddress& mac, const std::optional<Uuid>& uuid) const {
  Match m;
  if (auto it = by_mac_.find(mac); it != by_mac_.end()) {
    m.node = it->second;
    m.by = MatchedBy::Mac;
  } else if (uuid && !isNilUuid(*uuid)) {
    auto found = by_uuid_.find(*uuid);
    if (found == by_uuid_.end()) found = by_uuid_.find(swapUuidByteOrder(*uuid));
    if (found != by_uuid_.end()) {
      m.node = found->second;
      m.by = MatchedBy::Uuid;
    }
  }
  const auto& c = *config_;
  m.policy = c.defaults.unknown;
  if (m.node) {
    m.profile = c.findProfile(c.profileNameOf(*m.node));
  } else if (c.defaults.unknown == UnknownPolicy::Install && c.defaults.profile) {
    m.profile = c.findProfile(c.defaults.profile->value);
  }
  return m;
}

const Network* Inventory::networkFor(Ipv4Address a) const {
  for (const auto& n : config_->networks)
    if (n.subnet.value.contains(a)) return &n;
  return nullptr;
}

const Node* Inventory::findNode(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace drover::cluster
