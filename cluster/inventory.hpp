// Matching a booting machine to its node: the lookup the DHCP and HTTP servers do for every
// request. Built once per Config (hash maps by MAC, UUID and name), then read-only and safe
// to share between threads; publish it alongside its Config on reload.
//
//   auto inv = Inventory::build(config);          // config: shared_ptr<const Config>
//   Match m = inv.match(mac, uuid_from_option_97);
//   if (!m.known()) { /* defaults.unknown applies: m.policy */ }
//   const Network* net = inv.networkFor(giaddr_or_interface_address);
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net.hpp"
#include "cluster/config.hpp"

namespace drover::cluster {

enum class MatchedBy { Mac, Uuid, None };
std::string_view toString(MatchedBy by);  // "mac", "uuid", "none"

struct Match {
  const Node* node = nullptr;        // null: an unknown machine
  const Profile* profile = nullptr;  // the node's profile; for an unknown machine the one
                                     // defaults.unknown: install uses, else null
  MatchedBy by = MatchedBy::None;
  UnknownPolicy policy = UnknownPolicy::Discover;  // for unknown machines: defaults.unknown

  bool known() const { return node != nullptr; }
};

class Inventory {
 public:
  // Indexes a checked Config (loadConfig*() succeeded). Keeps the Config alive; pointers
  // in a Match stay valid while this Inventory (or a copy) lives.
  static Inventory build(std::shared_ptr<const Config> config);

  // By any of the node's MACs first, else by SMBIOS UUID. A nil UUID (all zero or all
  // 0xff, as some firmware sends) is ignored. The UUID is also tried with its first three
  // fields byte-swapped: many PXE ROMs send SMBIOS bytes as stored, not in RFC 4122 order.
  Match match(const MacAddress& mac, const std::optional<Uuid>& uuid) const;

  // The network whose subnet holds `a`: a relay's giaddr, the receiving interface's address
  // or a node's IP. Null when none does.
  const Network* networkFor(Ipv4Address a) const;

  const Node* findNode(std::string_view name) const;
  const Config& config() const { return *config_; }
  const std::shared_ptr<const Config>& configPtr() const { return config_; }

 private:
  std::shared_ptr<const Config> config_;
  std::unordered_map<MacAddress, const Node*> by_mac_;
  std::unordered_map<Uuid, const Node*> by_uuid_;
  std::unordered_map<std::string_view, const Node*> by_name_;
};

// The same UUID with its first three fields (4, 2 and 2 bytes) byte-swapped.
Uuid swapUuidByteOrder(const Uuid& u);

}  // namespace drover::cluster
