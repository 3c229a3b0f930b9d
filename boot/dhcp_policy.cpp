#include "boot/dhcp_policy.hpp"

namespace drover::boot {

ClientIdentity clientIdentityOf(const dhcp::ClientFacts& facts) {
  return ClientIdentity{facts.arch, facts.vendor_class, facts.is_ipxe};
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
  // The first file does not depend on the node's state (the DHCP server does not read the
  // store): the per-node iPXE script decides between install and local boot.
  const auto decision = boot::decide(inv->config(), match, clientIdentityOf(facts), std::nullopt);
  if (decision.script == ScriptKind::kIgnore) {
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
  if (decision.delivery != Delivery::kNone) answer.boot_file = decision.file;
  answer.http_client = decision.http_client;
  answer.next_server = inv->config().server.advertise;
  return answer;
}

bool InventoryBootPolicy::isReserved(Ipv4Address ip) const {
  auto snapshot = source_.current();
  return snapshot && snapshot->node_by_ip.contains(ip);
}

}  // namespace drover::boot
