// The built-in join recipes, rendered from the declaration for one node: what
// GET /v1/agent/join answers and drover-agent's join mode runs (agent/join.hpp documents
// the step kinds). Pure: no I/O, no logging.
//
//   etcd-member  an etcd member in a container (host network): client URL http://IP:2379
//                (and 127.0.0.1:2379), peer URL http://IP:2380, data under
//                /var/lib/drover/etcd. The first members bootstrap statically:
//                --initial-cluster lists every declared node whose profile uses etcd-member,
//                with a cluster token derived from that list. A member that starts when the
//                others already run joins them (etcd_join: a learner, the peer list from
//                etcd's own member list, state existing) and is promoted once it caught up
//                (etcd_promote); ${ETCD_OTHER_MEMBERS} names the others' client URLs.
//   etcd-proxy   `etcd gateway start` in a container on 0.0.0.0:2379, its endpoints the
//                members' client addresses: clients on the node reach the cluster there.
//                The proxy node's own address is not used, so it may come from a pool.
//
//   pod network  with `pod_network` declared, every node whose profile has a recipe gets one
//                more step after it: pod_network, which leases the node's subnet in the
//                members' etcd (under kPodNetworkPrefix) and routes to the other nodes'
//                (agent/podnet.hpp).
//
// Both import etcd from the profile's join.image (an OCI archive on the node) and run the
// image named join.image_ref. The steps name values through "env" (${ETCD_NAME}, ...), so
// the reply reads as a template plus its values.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "cluster/config.hpp"

namespace drover::boot {

inline constexpr const char* kEtcdDataDir = "/var/lib/drover/etcd";
inline constexpr int kEtcdClientPort = 2379;
inline constexpr int kEtcdPeerPort = 2380;
inline constexpr const char* kPodNetworkPrefix = "/drover/pod-network";

// The whole reply body: {"runtime", "recipe", "steps": [...], "env": {...}}. A profile
// without a recipe gets no steps. Error codes: no_profile (the node's profile is not
// declared), no_ip (etcd-member, or the pod network, on a node without ip; validation
// refuses it), no_members (etcd-proxy or the pod network, but no declared node uses
// etcd-member), unknown_recipe.
Result<nlohmann::json> renderJoin(const cluster::Config& config, const cluster::Node& node);

// The etcd members a node joins: every declared node whose profile joins with recipe
// etcd-member (and has its ip, which validation requires), in declaration order.
std::vector<const cluster::Node*> etcdMembers(const cluster::Config& config);

// "drover-etcd-" + 16 hex digits of a hash of the initial-cluster list: the same for every
// member of one declaration, different when the membership differs.
std::string etcdClusterToken(const std::string& initial_cluster);

}  // namespace drover::boot
