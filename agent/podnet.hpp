// The pod network of the installed nodes, on the cluster's etcd (the model of flannel on
// etcd): each node leases a subnet of the declared range, writes a CNI configuration over it,
// and routes to every other node's subnet.
//
// Leases: one key per subnet, <prefix>/subnets/<network>-<length> (198.18.3.0-24), holding
// {"node", "ip", "vtep_mac", "backend"} and bound to an etcd lease of lease_ttl seconds that
// the node keeps alive on each heartbeat. A node takes its own key again when it finds one
// (the same subnet after a reboot or a reinstall); otherwise it creates the first free key
// from a place its name hashes to, create-if-absent, and looks again when another node took
// it first.
//
// Backends:
//   host-gw  `ip route replace SUBNET via NODE_IP` per other node (one L2 segment).
//   vxlan    a VXLAN device (kVxlanDevice, VNI 1, UDP 8472, no learning) with the node's MAC
//            and its subnet's network address; per other node an fdb entry sending its MAC to
//            its address, a permanent neighbour entry for its subnet's network address with
//            its MAC, and an onlink route to its subnet via that address.
//
// The pure parts (subnets, lease values, the conflist, the commands) are separate from the
// etcd and process parts, for the tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/process.hpp"
#include "common/net.hpp"
#include "common/result.hpp"
#include "state/etcd/client.hpp"

namespace drover::agent {

inline constexpr const char* kVxlanDevice = "drover-vxlan";
inline constexpr const char* kPodBridge = "drover0";
inline constexpr int kVxlanId = 1;
inline constexpr int kVxlanPort = 8472;

enum class PodBackend { Vxlan, HostGw };

// What a pod_network step says (its string values, parsed).
struct PodNetSpec {
  std::vector<std::string> endpoints{};  // etcd client URLs
  std::string prefix;                    // e.g. /drover/pod-network
  Cidr cidr;
  int subnet_length = 24;
  PodBackend backend = PodBackend::Vxlan;
  std::chrono::seconds lease_ttl{24 * 3600};
  std::string node;
  Ipv4Address ip;
};

// Error code: bad_recipe (names the value that is wrong).
Result<PodNetSpec> parsePodNetSpec(const std::map<std::string, std::string>& args);

// One node's lease as kept in etcd.
struct SubnetLease {
  Cidr subnet;
  std::string node;
  Ipv4Address ip;
  std::string vtep_mac;
  std::string backend;
  std::int64_t mod_revision = 0;

  friend bool operator==(const SubnetLease& a, const SubnetLease& b) {
    return a.subnet == b.subnet && a.node == b.node && a.ip == b.ip && a.vtep_mac == b.vtep_mac;
  }
};

// How many subnets of `length` `cidr` holds, and the i-th of them.
std::uint32_t subnetCount(const Cidr& cidr, int length);
Cidr subnetAt(const Cidr& cidr, int length, std::uint32_t index);

std::string subnetsPrefix(const std::string& prefix);  // <prefix>/subnets/
std::string leaseKey(const std::string& prefix, const Cidr& subnet);
std::string encodeLease(const SubnetLease& lease);
// From a key under subnetsPrefix and its value; error code bad_lease.
Result<SubnetLease> decodeLease(const std::string& prefix, const std::string& key,
                                const std::string& value);

// A locally administered MAC derived from the node's name: the same on every boot.
std::string vtepMac(const std::string& node);

// The CNI configuration list for the node's subnet: bridge kPodBridge (the subnet's first
// address as the pods' gateway) with host-local addresses from the rest of it.
std::string renderConflist(const PodNetSpec& spec, const Cidr& subnet);

using Argv = std::vector<std::string>;

// The commands that set up this node's side: the VXLAN device (vxlan), nothing for host-gw.
std::vector<Argv> deviceCommands(const PodNetSpec& spec, const SubnetLease& own);

// The commands that take the routes from `installed` to `wanted` (other nodes' leases,
// keyed by subnet): removals first, then additions and changes. Each command is idempotent
// (replace) or may fail harmlessly (del of what is gone).
std::vector<Argv> routeCommands(PodBackend backend, const std::map<Cidr, SubnetLease>& installed,
                                const std::map<Cidr, SubnetLease>& wanted);

struct PodNetOptions {
  etcd::Options client{};
  int attempts = 180;  // etcd not answering yet (its member may still be starting)
  std::chrono::milliseconds retry_delay{1000};
  std::filesystem::path cni_dir = "/etc/cni/net.d";
  std::filesystem::path ip_forward = "/proc/sys/net/ipv4/ip_forward";
  std::string ip = "ip";
  std::string bridge = "bridge";
};

// Leases the node's subnet: its own key again if there is one, else a free one. Error codes:
// pod_network_full (every subnet taken), the client's codes when etcd cannot be reached,
// pod_network_conflict (still racing after many rounds).
Result<SubnetLease> acquireSubnet(etcd::Client& client, const PodNetSpec& spec,
                                  std::int64_t lease_id);
// Every lease under the prefix (values that do not decode are skipped and logged).
Result<std::vector<SubnetLease>> readLeases(etcd::Client& client, const std::string& prefix);

// The node's side of the pod network, from the step to every heartbeat.
class PodNetwork {
 public:
  PodNetwork(PodNetOptions options, ExecFn exec)
      : options_(std::move(options)), exec_(std::move(exec)) {}
  // Lease (retried while etcd does not answer), conflist, ip_forward, device, routes.
  Status start(const PodNetSpec& spec);
  // On a heartbeat: keep the lease alive (lease again when it expired) and bring the
  // routes in line with the leases.
  Status refresh();
  bool started() const { return own_.has_value(); }
  const std::optional<SubnetLease>& own() const { return own_; }
  const std::map<Cidr, SubnetLease>& routes() const { return installed_; }

 private:
  Status lease();
  Status setupNode();
  Status syncRoutes();
  Status run(const Argv& argv, bool must_succeed);

  PodNetOptions options_;
  ExecFn exec_;
  PodNetSpec spec_;
  std::optional<etcd::Client> client_;
  std::int64_t lease_id_ = 0;
  std::optional<SubnetLease> own_;
  std::map<Cidr, SubnetLease> installed_;
};

}  // namespace drover::agent
