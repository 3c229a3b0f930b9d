#include "boot/recipes.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/strings.hpp"

namespace drover::boot {
namespace {

using nlohmann::json;

const cluster::Profile* profileOf(const cluster::Config& c, const cluster::Node& node) {
  return c.findProfile(c.profileNameOf(node));
}

std::string commaList(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

json importStep() {
  return {{"name", "import etcd image"}, {"ctr_import", "${ETCD_ARCHIVE}"}};
}

json memberSteps() {
  return json::array(
      {{{"name", "etcd data directory"},
        {"run", json::array({"mkdir", "-p", "-m", "0700", "${ETCD_DATA_DIR}"})}},
       importStep(),
       {{"name", "join the etcd cluster"},
        {"etcd_join",
         {{"endpoints", "${ETCD_OTHER_MEMBERS}"},
          {"name", "${ETCD_NAME}"},
          {"peer_url", "${ETCD_PEER_URL}"},
          {"initial_cluster", "${ETCD_INITIAL_CLUSTER}"},
          {"data_dir", "${ETCD_DATA_DIR}"}}}},
       {{"name", "start etcd member"},
        {"ctr_run",
         {{"image", "${ETCD_IMAGE}"},
          {"id", "drover-etcd"},
          {"net_host", true},
          {"mounts", json::array({"${ETCD_DATA_DIR}:${ETCD_DATA_DIR}"})},
          {"args",
           json::array({"etcd", "--name", "${ETCD_NAME}", "--data-dir", "${ETCD_DATA_DIR}",
                        "--listen-client-urls", "${ETCD_CLIENT_URL},http://127.0.0.1:2379",
                        "--advertise-client-urls", "${ETCD_CLIENT_URL}", "--listen-peer-urls",
                        "${ETCD_PEER_URL}", "--initial-advertise-peer-urls", "${ETCD_PEER_URL}",
                        "--initial-cluster", "${ETCD_INITIAL_CLUSTER}", "--initial-cluster-state",
                        "${ETCD_INITIAL_CLUSTER_STATE}", "--initial-cluster-token",
                        "${ETCD_CLUSTER_TOKEN}"})}}}},
       {{"name", "promote the etcd learner"},
        {"etcd_promote",
         {{"endpoints", "${ETCD_OTHER_MEMBERS}"}, {"peer_url", "${ETCD_PEER_URL}"}}}}});
}

json proxySteps() {
  return json::array(
      {importStep(),
       {{"name", "start etcd proxy"},
        {"ctr_run",
         {{"image", "${ETCD_IMAGE}"},
          {"id", "drover-etcd-proxy"},
          {"net_host", true},
          {"args", json::array({"etcd", "gateway", "start", "--listen-addr", "${ETCD_PROXY_LISTEN}",
                                "--endpoints", "${ETCD_ENDPOINTS}"})}}}}});
}

// After the recipe's own steps: lease a subnet in the members' etcd, then the CNI
// configuration, the device and the routes (agent/podnet.hpp).
json podNetworkStep() {
  return {{"name", "join the pod network"},
          {"pod_network",
           {{"endpoints", "${POD_NETWORK_ETCD}"},
            {"prefix", "${POD_NETWORK_PREFIX}"},
            {"cidr", "${POD_NETWORK_CIDR}"},
            {"subnet_length", "${POD_NETWORK_SUBNET_LENGTH}"},
            {"backend", "${POD_NETWORK_BACKEND}"},
            {"lease_ttl", "${POD_NETWORK_LEASE_TTL}"},
            {"node", "${DROVER_NODE_NAME}"},
            {"ip", "${DROVER_NODE_IP}"}}}};
}

}  // namespace

std::vector<const cluster::Node*> etcdMembers(const cluster::Config& c) {
  std::vector<const cluster::Node*> out;
  for (const auto& n : c.nodes) {
    const auto* p = profileOf(c, n);
    if (p != nullptr && p->join.recipe == "etcd-member" && n.ip) out.push_back(&n);
  }
  return out;
}

std::string etcdClusterToken(const std::string& initial_cluster) {
  return fmt::format("drover-etcd-{:016x}", fnv1a64(initial_cluster));
}

Result<json> renderJoin(const cluster::Config& c, const cluster::Node& node) {
  const auto* profile = profileOf(c, node);
  if (profile == nullptr)
    return makeError("no_profile", "node " + node.name.value + " has no profile");
  const auto& j = profile->join;
  const std::string ip = node.ip ? node.ip->value.str() : "";
  std::vector<std::string> names, initial, endpoints, others, urls;
  for (const auto* m : etcdMembers(c)) {
    const auto mip = m->ip->value.str();
    names.push_back(m->name.value + "=" + mip);
    initial.push_back(fmt::format("{}=http://{}:{}", m->name.value, mip, kEtcdPeerPort));
    endpoints.push_back(fmt::format("{}:{}", mip, kEtcdClientPort));
    urls.push_back(fmt::format("http://{}:{}", mip, kEtcdClientPort));
    if (m->name.value != node.name.value)
      others.push_back(fmt::format("http://{}:{}", mip, kEtcdClientPort));
  }
  json env = {{"DROVER_NODE_NAME", node.name.value},
              {"DROVER_NODE_IP", ip},
              {"DROVER_RECIPE", j.recipe},
              {"DROVER_CLUSTER_MEMBERS", commaList(names)}};
  json steps = json::array();
  if (j.recipe == "etcd-member" || j.recipe == "etcd-proxy") {
    if (j.recipe == "etcd-member" && ip.empty())
      return makeError("no_ip", "recipe etcd-member needs the node's declared ip");
    env["ETCD_ARCHIVE"] = j.image;
    env["ETCD_IMAGE"] = j.image_ref;
    env["ETCD_ENDPOINTS"] = commaList(endpoints);
    env["ETCD_INITIAL_CLUSTER"] = commaList(initial);
    if (j.recipe == "etcd-member") {
      env["ETCD_NAME"] = node.name.value;
      env["ETCD_DATA_DIR"] = kEtcdDataDir;
      env["ETCD_CLIENT_URL"] = fmt::format("http://{}:{}", ip, kEtcdClientPort);
      env["ETCD_PEER_URL"] = fmt::format("http://{}:{}", ip, kEtcdPeerPort);
      env["ETCD_CLUSTER_TOKEN"] = etcdClusterToken(commaList(initial));
      env["ETCD_INITIAL_CLUSTER_STATE"] = "new";
      env["ETCD_OTHER_MEMBERS"] = commaList(others);
      steps = memberSteps();
    } else {
      if (endpoints.empty()) {
        return makeError("no_members",
                         "recipe etcd-proxy: no declared node with an ip uses recipe etcd-member");
      }
      env["ETCD_PROXY_LISTEN"] = fmt::format("0.0.0.0:{}", kEtcdClientPort);
      steps = proxySteps();
    }
  } else if (!j.recipe.empty()) {
    return makeError("unknown_recipe", "unknown recipe " + j.recipe);
  }
  if (c.pod_network && !j.recipe.empty()) {
    const auto& pn = *c.pod_network;
    if (ip.empty()) return makeError("no_ip", "the pod network needs the node's declared ip");
    if (urls.empty())
      return makeError("no_members",
                       "the pod network: no declared node with an ip uses recipe etcd-member");
    env["POD_NETWORK_ETCD"] = commaList(urls);
    env["POD_NETWORK_PREFIX"] = kPodNetworkPrefix;
    env["POD_NETWORK_CIDR"] = pn.cidr.value.str();
    env["POD_NETWORK_SUBNET_LENGTH"] = std::to_string(pn.subnet_length.value);
    env["POD_NETWORK_BACKEND"] = std::string(cluster::toString(pn.backend));
    env["POD_NETWORK_LEASE_TTL"] = std::to_string(pn.lease_ttl.count());
    steps.push_back(podNetworkStep());
  }
  return json{{"runtime", j.runtime}, {"recipe", j.recipe}, {"steps", steps}, {"env", env}};
}

}  // namespace drover::boot
