// GET /v1/agent/join over the API listener: the node's built-in recipe rendered from the
// declaration, and the agent's own planner accepts it and turns it into ctr commands.
#include "agent/api_client.hpp"
#include "agent/join.hpp"
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(ServeTest, JoinAnswersTheRenderedEtcdMemberRecipe) {
  auto join = apiCall("GET", "/v1/agent/join", credentialFor(kMac2));
  ASSERT_EQ(join.status, 200) << join.body;
  auto j = join.json();
  EXPECT_EQ(j["runtime"], "containerd");
  EXPECT_EQ(j["recipe"], "etcd-member");
  ASSERT_EQ(j["steps"].size(), 5u) << join.body;
  EXPECT_EQ(j["env"]["ETCD_NAME"], "node-2");
  EXPECT_EQ(j["env"]["ETCD_CLIENT_URL"], "http://192.0.2.11:2379");
  EXPECT_EQ(j["env"]["ETCD_INITIAL_CLUSTER"], "node-1=http://192.0.2.10:2380,node-2=http://192.0.2.11:2380");
  EXPECT_EQ(j["env"]["ETCD_ARCHIVE"], "/var/lib/drover/images/etcd.oci.tar");

  // What the agent makes of it: the same parser and planner drover-agent runs.
  auto recipe = agent::parseJoin(join.body);
  ASSERT_TRUE(recipe.ok()) << recipe.error().message;
  agent::RuntimePaths rt;
  auto steps = agent::planSteps(*recipe, rt, {{"DROVER_NODE", "node-2"}, {"DROVER_API", app_->api()}});
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  ASSERT_EQ(steps->size(), 5u);
  EXPECT_THAT((*steps)[0].argv, ElementsAre("mkdir", "-p", "-m", "0700", "/var/lib/drover/etcd"));
  EXPECT_THAT((*steps)[1].argv, ::testing::Contains("/var/lib/drover/images/etcd.oci.tar"));
  EXPECT_EQ((*steps)[2].etcd, "join");
  EXPECT_EQ((*steps)[2].etcd_args.at("endpoints"), "http://192.0.2.10:2379");
  EXPECT_EQ((*steps)[4].etcd, "promote");
  const auto& run = (*steps)[3];
  EXPECT_EQ(run.container_id, "drover-etcd");
  std::string argv;
  for (const auto& a : run.argv) argv += a + " ";
  EXPECT_THAT(argv, HasSubstr("--net-host"));
  EXPECT_THAT(argv, HasSubstr("gcr.io/etcd-development/etcd:v3.4.23 drover-etcd etcd --name node-2 "));
  EXPECT_THAT(argv, HasSubstr("--initial-cluster node-1=http://192.0.2.10:2380,node-2=http://192.0.2.11:2380 "));
  EXPECT_THAT(argv, HasSubstr("--initial-cluster-state new --initial-cluster-token drover-etcd-"));
}

TEST_F(ServeTest, JoinRecipeIsOnlyTheCallersOwn) {
  auto j = apiCall("GET", "/v1/agent/join", credentialFor(kMac1)).json();
  EXPECT_EQ(j["env"]["ETCD_NAME"], "node-1");
  EXPECT_EQ(apiCall("GET", "/v1/agent/join", "").status, 401);
}

}  // namespace
}  // namespace drover::server::testing
