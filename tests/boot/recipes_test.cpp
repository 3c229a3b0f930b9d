// The built-in join recipes rendered for one node: the steps the agent runs, the values
// they name, the static etcd bootstrap from the declaration, and what no recipe means.
#include "boot/recipes.hpp"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "boot/template_data.hpp"
#include "cluster/inventory.hpp"
#include "cluster/loader.hpp"
#include "templates/template.hpp"
#include "tests/cluster/recipe_config.hpp"

namespace drover::boot {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kCluster = cluster::testing::recipeDeclaration(
    R"(  master:
    install: { image: os }
    join: { runtime: containerd, recipe: etcd-member }
  worker:
    install: { image: os }
    join: { runtime: containerd, recipe: etcd-proxy, image: /opt/etcd.tar, image_ref: "registry.lab/etcd:3.4" }
  plain:
    install: { image: os }
)",
    R"(  - { name: m1, mac: 52:54:00:00:00:01, ip: 192.0.2.11, profile: master }
  - { name: m2, mac: 52:54:00:00:00:02, ip: 192.0.2.12, profile: master }
  - { name: w1, mac: 52:54:00:00:00:03, ip: 192.0.2.21, profile: worker }
  - { name: p1, mac: 52:54:00:00:00:04, profile: plain }
  - { name: w2, mac: 52:54:00:00:00:05, profile: worker }
)");

class RecipesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = cluster::loadConfigText(text_, "cluster.yaml", "/");
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    ASSERT_TRUE(loaded.config);
    config_ = loaded.config;
  }
  json render(const std::string& name) {
    for (const auto& n : config_->nodes) {
      if (n.name.value != name) continue;
      auto r = renderJoin(*config_, n);
      EXPECT_TRUE(r.ok()) << r.error().message;
      return r ? *r : json();
    }
    ADD_FAILURE() << "no node " << name;
    return {};
  }
  // A step's strings with the reply's env substituted, as the agent would expand them.
  static std::string expand(std::string s, const json& env) {
    for (auto it = env.begin(); it != env.end(); ++it) {
      const std::string var = "${" + it.key() + "}";
      for (auto p = s.find(var); p != std::string::npos; p = s.find(var)) s.replace(p, var.size(), it.value());
    }
    return s;
  }
  static std::vector<std::string> expanded(const json& list, const json& env) {
    std::vector<std::string> out;
    for (const auto& s : list) out.push_back(expand(s.get<std::string>(), env));
    return out;
  }

  std::string text_ = kCluster;
  std::shared_ptr<const cluster::Config> config_;
};

TEST_F(RecipesTest, EtcdMemberRunsAMemberOfTheDeclaredCluster) {
  auto r = render("m2");
  EXPECT_EQ(r["runtime"], "containerd");
  EXPECT_EQ(r["recipe"], "etcd-member");
  const auto& env = r["env"];
  const auto& steps = r["steps"];
  ASSERT_EQ(steps.size(), 5u) << steps.dump(2);
  EXPECT_THAT(expanded(steps[0]["run"], env), ElementsAre("mkdir", "-p", "-m", "0700", "/var/lib/drover/etcd"));
  EXPECT_EQ(expand(steps[1]["ctr_import"], env), "/var/lib/drover/images/etcd.oci.tar");
  // Before etcd starts: join the running cluster through the other members, if any answers.
  const auto& join = steps[2]["etcd_join"];
  EXPECT_EQ(expand(join["endpoints"], env), "http://192.0.2.11:2379");
  EXPECT_EQ(expand(join["name"], env), "m2");
  EXPECT_EQ(expand(join["peer_url"], env), "http://192.0.2.12:2380");
  EXPECT_EQ(expand(join["initial_cluster"], env),
            "m1=http://192.0.2.11:2380,m2=http://192.0.2.12:2380");
  EXPECT_EQ(expand(join["data_dir"], env), "/var/lib/drover/etcd");
  // After: a learner is promoted.
  EXPECT_EQ(expand(steps[4]["etcd_promote"]["endpoints"], env), "http://192.0.2.11:2379");
  EXPECT_EQ(expand(steps[4]["etcd_promote"]["peer_url"], env), "http://192.0.2.12:2380");
  const auto& run = steps[3]["ctr_run"];
  EXPECT_EQ(expand(run["image"], env), "gcr.io/etcd-development/etcd:v3.4.23");
  EXPECT_EQ(run["id"], "drover-etcd");
  EXPECT_EQ(run["net_host"], true);
  EXPECT_THAT(expanded(run["mounts"], env), ElementsAre("/var/lib/drover/etcd:/var/lib/drover/etcd"));
  const auto token = etcdClusterToken("m1=http://192.0.2.11:2380,m2=http://192.0.2.12:2380");
  EXPECT_THAT(expanded(run["args"], env),
              ElementsAre("etcd", "--name", "m2", "--data-dir", "/var/lib/drover/etcd",
                          "--listen-client-urls", "http://192.0.2.12:2379,http://127.0.0.1:2379",
                          "--advertise-client-urls", "http://192.0.2.12:2379",
                          "--listen-peer-urls", "http://192.0.2.12:2380",
                          "--initial-advertise-peer-urls", "http://192.0.2.12:2380",
                          "--initial-cluster", "m1=http://192.0.2.11:2380,m2=http://192.0.2.12:2380",
                          "--initial-cluster-state", "new", "--initial-cluster-token", token));
  // Every step names only values the reply carries.
  EXPECT_THAT(expand(steps.dump(), env), ::testing::Not(HasSubstr("${")));
}

TEST_F(RecipesTest, MembersShareOneClusterToken) {
  auto a = render("m1")["env"], b = render("m2")["env"];
  EXPECT_EQ(a["ETCD_CLUSTER_TOKEN"], b["ETCD_CLUSTER_TOKEN"]);
  EXPECT_EQ(a["ETCD_INITIAL_CLUSTER"], b["ETCD_INITIAL_CLUSTER"]);
  EXPECT_THAT(a["ETCD_CLUSTER_TOKEN"].get<std::string>(), ::testing::StartsWith("drover-etcd-"));
  EXPECT_NE(etcdClusterToken("m1=http://192.0.2.11:2380"), etcdClusterToken("m1=http://192.0.2.12:2380"));
  EXPECT_EQ(a["DROVER_CLUSTER_MEMBERS"], "m1=192.0.2.11,m2=192.0.2.12");
}

TEST_F(RecipesTest, EtcdProxyServesTheMembersOnTheNode) {
  auto r = render("w1");
  EXPECT_EQ(r["recipe"], "etcd-proxy");
  const auto& env = r["env"];
  const auto& steps = r["steps"];
  ASSERT_EQ(steps.size(), 2u) << steps.dump(2);
  EXPECT_EQ(expand(steps[0]["ctr_import"], env), "/opt/etcd.tar");
  const auto& run = steps[1]["ctr_run"];
  EXPECT_EQ(expand(run["image"], env), "registry.lab/etcd:3.4");
  EXPECT_EQ(run["id"], "drover-etcd-proxy");
  EXPECT_EQ(run["net_host"], true);
  EXPECT_THAT(expanded(run["args"], env),
              ElementsAre("etcd", "gateway", "start", "--listen-addr", "0.0.0.0:2379", "--endpoints",
                          "192.0.2.11:2379,192.0.2.12:2379"));
  EXPECT_THAT(expand(steps.dump(), env), ::testing::Not(HasSubstr("${")));
}

TEST_F(RecipesTest, PoolAddressedProxyJoinsTheMembers) {
  auto r = render("w2");  // no declared ip: the gateway listens on 0.0.0.0
  EXPECT_EQ(r["env"]["DROVER_NODE_IP"], "");
  EXPECT_EQ(r["env"]["ETCD_ENDPOINTS"], "192.0.2.11:2379,192.0.2.12:2379");
  EXPECT_EQ(r["env"]["ETCD_PROXY_LISTEN"], "0.0.0.0:2379");
}

// A worker's /etc/drover/cluster-members (configs/templates/worker.yaml.mustache) lists the
// etcd members it joins, not the other workers.
TEST_F(RecipesTest, ClusterMembersAreTheEtcdMembers) {
  const auto inv = cluster::Inventory::build(config_);
  const auto& w1 = config_->nodes[2];
  const auto data = templateData(inv, w1);
  EXPECT_EQ(data["cluster"]["members"],
            json::parse(R"([{"name":"m1","ip":"192.0.2.11"},{"name":"m2","ip":"192.0.2.12"}])"));
  EXPECT_EQ(templateData(inv, config_->nodes[0])["cluster"]["members"], data["cluster"]["members"]);
  EXPECT_TRUE(templateData(inv, config_->nodes[3])["cluster"]["members"].empty());  // no recipe

  const char* src = std::getenv("DROVER_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/configs/templates/worker.yaml.mustache");
  std::ostringstream text;
  text << in.rdbuf();
  auto tpl = templates::Template::parse("worker.yaml.mustache", text.str());
  ASSERT_TRUE(tpl.ok()) << tpl.error().message;
  auto out = tpl->render(data);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_THAT(*out, HasSubstr("# recipe etcd-proxy\n      m1 192.0.2.11\n      m2 192.0.2.12\n"));
  EXPECT_THAT(*out, ::testing::Not(HasSubstr("w1 192.0.2.21")));
}

TEST_F(RecipesTest, NoRecipeIsNoSteps) {
  auto r = render("p1");
  EXPECT_EQ(r["recipe"], "");
  EXPECT_TRUE(r["steps"].is_array());
  EXPECT_TRUE(r["steps"].empty());
  EXPECT_EQ(r["env"]["DROVER_NODE_NAME"], "p1");
  EXPECT_EQ(r["env"]["DROVER_NODE_IP"], "");
}

TEST_F(RecipesTest, ProxyWithoutMembersIsAnError) {
  cluster::Config c = *config_;
  c.profiles.at("master").join.recipe = "";
  auto r = renderJoin(c, c.nodes[2]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "no_members");
}

TEST_F(RecipesTest, EtcdMemberWithoutIpIsAnError) {
  cluster::Config c = *config_;
  c.nodes[0].ip.reset();
  auto r = renderJoin(c, c.nodes[0]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "no_ip");
}

}  // namespace
}  // namespace drover::boot
