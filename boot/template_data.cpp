#include "boot/template_data.hpp"

#include "boot/decision.hpp"
#include "boot/recipes.hpp"

namespace drover::boot {
namespace {

using nlohmann::json;

json networkData(const cluster::Network* net) {
  json n = {{"name", ""}, {"subnet", ""}, {"netmask", ""}, {"prefix", ""},
            {"gateway", ""}, {"dns", json::array()}, {"domain", ""}};
  if (net == nullptr) return n;
  n["name"] = net->name.value;
  n["subnet"] = net->subnet.value.str();
  n["netmask"] = net->subnet.value.netmask().str();
  n["prefix"] = std::to_string(net->subnet.value.prefix());
  if (net->gateway) n["gateway"] = net->gateway->value.str();
  for (const auto& d : net->dns) n["dns"].push_back(d.str());
  n["domain"] = net->domain;
  return n;
}

std::string recipeOf(const cluster::Config& c, const cluster::Node& node) {
  const auto* p = c.findProfile(c.profileNameOf(node));
  return p ? p->join.recipe : std::string();
}

}  // namespace

json templateData(const cluster::Inventory& inv, const cluster::Node& node) {
  const auto& c = inv.config();
  json labels = json::object();
  for (const auto& [k, v] : node.labels) labels[k] = v;
  const cluster::Network* net = node.ip ? inv.networkFor(node.ip->value) : nullptr;
  json data = {
      {"node",
       {{"name", node.name.value},
        {"hostname", node.name.value},
        {"mac", node.macs.empty() ? "" : node.macs.front().value.str()},
        {"ip", node.ip ? node.ip->value.str() : ""},
        {"uuid", node.uuid ? node.uuid->value.str() : ""},
        {"labels", labels},
        {"profile", c.profileNameOf(node)}}},
      {"network", networkData(net)},
      {"server",
       {{"advertise", c.server.advertise.str()},
        {"http", httpUrl(c, "")},
        {"api", "https://" + c.server.advertise.str() + ":" + std::to_string(c.server.api.listen.port)}}},
      {"ssh_authorized_keys", c.defaults.ssh_authorized_keys},
  };
  json members = json::array();
  const auto recipe = recipeOf(c, node);
  if (!recipe.empty())
    for (const auto* m : etcdMembers(c))
      members.push_back({{"name", m->name.value}, {"ip", m->ip->value.str()}});
  data["cluster"] = {{"recipe", recipe}, {"members", members}};
  return data;
}

json sampleTemplateData(const cluster::Inventory& inv) {
  cluster::Node sample;
  sample.name.value = "sample-node";
  sample.macs.push_back({MacAddress(), {}, ""});
  const auto& c = inv.config();
  if (!c.networks.empty()) sample.ip = cluster::Located<Ipv4Address>{c.networks.front().subnet.value.network(), {}, ""};
  auto data = templateData(inv, sample);
  data["cluster"]["members"] = json::array({{{"name", "sample-node"}, {"ip", "192.0.2.10"}}});
  return data;
}

}  // namespace drover::boot
