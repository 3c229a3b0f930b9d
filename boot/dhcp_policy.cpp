#include "boot/dhcp_policy.hpp"

#include "cluster/boot.hpp"

namespace drover::boot {

std::shared_ptr<const Snapshot> Snapshot::build(std::shared_ptr<const cluster::Config> config) {
  auto s = std::make_shared<Snapshot>(Snapshot{cluster::Inventory::build(config), {}});
  for (const auto& node : s->inventory.config().nodes) {
    if (node.ip) s->node_by_ip.emplace(node.ip->value, &node);
  }
  return s;
}

cluster::ClientArch clientArchOf(const dhcp::ClientFacts& facts) {
  if (facts.vendor_class.starts_with("HTTPClient")) return cluster::ClientArch::HttpX64;
  if (facts.arch) {
    if (auto a = cluster::clientArchFromOption93(*facts.arch)) return *a;
  }
  return cluster::ClientArch::Bios;
}

dhcp::BootAnswer InventoryBootPolicy::decide(const dhcp::ClientFacts& facts) const {
  auto snapshot = source_.current();
  dhcp::BootAnswer answer;
  if (!snapshot) {
    answer.kind = dhcp::BootAnswer::Kind::Ignore;
    return answer;
  }
  const auto* inv = &snapshot->inventory;
  const auto match = inv->match(facts.mac, facts.uuid);
  cluster::BootRequest request;
  request.arch = clientArchOf(facts);
  request.ipxe = facts.is_ipxe;
  // The first file does not depend on whether the node is installed: the per-node iPXE
  // script decides between install and local boot.
  const auto decision = cluster::decideBoot(inv->config(), match, request);
  if (decision.action == cluster::BootAction::Ignore) {
    answer.kind = dhcp::BootAnswer::Kind::Ignore;
    return answer;
  }
  if (match.known() && match.node->ip) {
    answer.kind = dhcp::BootAnswer::Kind::Reserved;
    answer.reserved_ip = match.node->ip->value;
  } else {
    answer.kind = dhcp::BootAnswer::Kind::Pool;
  }
  if (match.known()) answer.hostname = match.node->name.value;
  if (decision.delivery != cluster::Delivery::None) answer.boot_file = decision.file;
  answer.http_client = request.arch == cluster::ClientArch::HttpX64 && !request.ipxe;
  answer.next_server = inv->config().server.advertise;
  return answer;
}

bool InventoryBootPolicy::isReserved(Ipv4Address ip) const {
  auto snapshot = source_.current();
  return snapshot && snapshot->node_by_ip.contains(ip);
}

}  // namespace drover::boot
