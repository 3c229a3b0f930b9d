// pod_network in the declaration: its keys and their defaults, what `drover validate` refuses
// (a range that is no CIDR or overlaps a network, a subnet length that does not fit, no etcd
// member to keep the leases, a node without ip), and the step the server renders after the
// recipe's own, which the agent plans into a PodNetSpec.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/join.hpp"
#include "boot/recipes.hpp"
#include "cluster/loader.hpp"
#include "tests/cluster/recipe_config.hpp"

namespace drover::boot {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string declaration(const std::string& pod_network,
                        const std::string& worker_ip = "192.0.2.12") {
  auto text = cluster::testing::recipeDeclaration(
      "  master:\n    install: { image: os }\n    join: { recipe: etcd-member }\n"
      "  worker:\n    install: { image: os }\n    join: { recipe: etcd-proxy }\n"
      "  plain:\n    install: { image: os }\n",
      "  - { name: m1, mac: 52:54:00:00:00:01, ip: 192.0.2.11, profile: master }\n"
      "  - { name: w1, mac: 52:54:00:00:00:02, " +
          (worker_ip.empty() ? std::string() : "ip: " + worker_ip + ", ") +
          "profile: worker }\n"
          "  - { name: p1, mac: 52:54:00:00:00:03, profile: plain }\n");
  return text + pod_network;
}

std::vector<std::string> errorsOf(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& e : cluster::loadConfigText(text, "c.yaml", "/").errors) out.push_back(e.str());
  return out;
}

TEST(PodNetworkConfig, KeysAndDefaults) {
  auto loaded =
      cluster::loadConfigText(declaration("pod_network: { cidr: 198.18.0.0/16 }\n"), "c.yaml", "/");
  ASSERT_THAT(loaded.errors, IsEmpty());
  const auto& pn = *loaded.config->pod_network;
  EXPECT_EQ(pn.cidr.value.str(), "198.18.0.0/16");
  EXPECT_EQ(pn.subnet_length.value, 24);
  EXPECT_EQ(pn.backend, cluster::PodBackend::Vxlan);
  EXPECT_EQ(pn.lease_ttl, std::chrono::hours(24));

  loaded = cluster::loadConfigText(
      declaration("pod_network: { cidr: 198.18.0.0/15, subnet_length: 26, backend: host-gw, "
                  "lease_ttl: 10m }\n"),
      "c.yaml", "/");
  ASSERT_THAT(loaded.errors, IsEmpty());
  EXPECT_EQ(loaded.config->pod_network->subnet_length.value, 26);
  EXPECT_EQ(loaded.config->pod_network->backend, cluster::PodBackend::HostGw);
  EXPECT_EQ(loaded.config->pod_network->lease_ttl, std::chrono::minutes(10));
  // Without the key there is no pod network.
  EXPECT_FALSE(cluster::loadConfigText(declaration(""), "c.yaml", "/").config->pod_network);
}

TEST(PodNetworkConfig, ValidateRefusesWhatCannotWork) {
  EXPECT_THAT(errorsOf(declaration("pod_network: { cidr: 198.18.0.1/16, backend: geneve }\n")),
              ElementsAre(::testing::HasSubstr("pod_network.cidr"),
                          ::testing::HasSubstr("pod_network.backend")));
  EXPECT_THAT(errorsOf(declaration("pod_network: { subnet_length: 24 }\n")),
              ElementsAre("c.yaml:24:14: pod_network: missing required key \"cidr\""));
  EXPECT_THAT(errorsOf(declaration("pod_network: { cidr: 192.0.0.0/8 }\n")),
              ElementsAre("c.yaml:24:22: pod_network.cidr: pod network 192.0.0.0/8 overlaps the "
                          "subnet 192.0.2.0/24 of networks[0]"));
  for (const char* len : {"16", "29", "33"})
    EXPECT_THAT(errorsOf(declaration(std::string("pod_network: { cidr: 198.18.0.0/16, "
                                                 "subnet_length: ") +
                                     len + " }\n")),
                ElementsAre(::testing::HasSubstr("pod_network.subnet_length")))
        << len;
  EXPECT_THAT(errorsOf(declaration("pod_network: { cidr: 10.0.0.0/8, subnet_length: 28 }\n")),
              ElementsAre(::testing::HasSubstr("at most 65536 subnets (/24 at most)")));
  EXPECT_THAT(errorsOf(declaration("pod_network: { cidr: 198.18.0.0/16, lease_ttl: 30s }\n")),
              ElementsAre(::testing::HasSubstr("pod_network.lease_ttl: between 2m and 30d")));
  EXPECT_THAT(errorsOf(declaration("pod_network: { cidr: 198.18.0.0/16 }\n", "")),
              ElementsAre("c.yaml:22:5: nodes[1]: joins the pod network (its profile has a join "
                          "recipe), whose routes go via the node's ip: declare ip here"));
  // No etcd member: nowhere to keep the leases.
  auto text = cluster::testing::recipeDeclaration(
      "  plain:\n    install: { image: os }\n",
      "  - { name: p1, mac: 52:54:00:00:00:03, profile: plain }\n");
  EXPECT_THAT(errorsOf(text + "pod_network: { cidr: 198.18.0.0/16 }\n"),
              ElementsAre(::testing::HasSubstr("no declared node joins with recipe etcd-member")));
}

class PodNetworkRender : public ::testing::Test {
 protected:
  json render(const std::string& text, const std::string& name) {
    auto loaded = cluster::loadConfigText(text, "c.yaml", "/");
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    if (!loaded.config) return {};
    config_ = loaded.config;
    for (const auto& n : config_->nodes)
      if (n.name.value == name) {
        auto r = renderJoin(*config_, n);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r ? *r : json();
      }
    ADD_FAILURE() << "no node " << name;
    return {};
  }
  std::shared_ptr<const cluster::Config> config_;
};

TEST_F(PodNetworkRender, EveryNodeWithARecipeJoinsAfterItsRecipe) {
  const auto text = declaration("pod_network: { cidr: 198.18.0.0/16, backend: vxlan }\n");
  for (const char* node : {"m1", "w1"}) {
    auto reply = render(text, node);
    const auto& steps = reply["steps"];
    ASSERT_FALSE(steps.empty());
    EXPECT_EQ(steps.back()["name"], "join the pod network") << node;
    EXPECT_EQ(reply["env"]["POD_NETWORK_ETCD"], "http://192.0.2.11:2379");
    EXPECT_EQ(reply["env"]["POD_NETWORK_CIDR"], "198.18.0.0/16");
    EXPECT_EQ(reply["env"]["POD_NETWORK_SUBNET_LENGTH"], "24");
    EXPECT_EQ(reply["env"]["POD_NETWORK_BACKEND"], "vxlan");
    EXPECT_EQ(reply["env"]["POD_NETWORK_LEASE_TTL"], "86400");
    EXPECT_EQ(reply["env"]["POD_NETWORK_PREFIX"], kPodNetworkPrefix);
  }
  EXPECT_THAT(render(text, "p1")["steps"], IsEmpty());  // no recipe: not in the pod network

  // The agent plans the step into what it runs with.
  auto reply = render(text, "w1");
  agent::JoinRecipe recipe;
  recipe.steps = reply["steps"];
  for (auto it = reply["env"].begin(); it != reply["env"].end(); ++it)
    recipe.env[it.key()] = it.value().get<std::string>();
  auto planned = agent::planSteps(recipe, {}, {{"DROVER_NODE", "w1"}, {"DROVER_API", "x"}});
  ASSERT_TRUE(planned.ok()) << planned.error().message;
  const auto& spec = planned->back().pod_network;
  ASSERT_TRUE(spec);
  EXPECT_EQ(planned->back().name, "join the pod network");
  EXPECT_THAT(spec->endpoints, ElementsAre("http://192.0.2.11:2379"));
  EXPECT_EQ(spec->node, "w1");
  EXPECT_EQ(spec->ip.str(), "192.0.2.12");
  EXPECT_EQ(spec->cidr.str(), "198.18.0.0/16");
  EXPECT_EQ(spec->subnet_length, 24);
  EXPECT_EQ(spec->backend, agent::PodBackend::Vxlan);
  EXPECT_EQ(spec->lease_ttl, std::chrono::hours(24));
}

}  // namespace
}  // namespace drover::boot
