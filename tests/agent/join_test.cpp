// Join recipe steps: planning (validation, expansion) and running with a fake exec.
#include "agent/join.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;
using Argv = std::vector<std::string>;

RuntimePaths rt() {
  RuntimePaths r;
  r.ctr = "ctr";
  r.socket = "/run/d/c.sock";
  r.ns = "drover";
  return r;
}

JoinRecipe recipe(json steps, std::map<std::string, std::string> env = {}) {
  JoinRecipe r;
  r.runtime = "containerd";
  r.recipe = "etcd-member";
  r.steps = std::move(steps);
  r.env = std::move(env);
  return r;
}

struct FakeExec {
  std::vector<Argv> calls;
  std::map<std::string, int> exit_for;  // argv[0] or last arg -> exit code
  ExecFn fn() {
    return [this](const ExecRequest& r) -> Result<int> {
      calls.push_back(r.argv);
      for (const auto& [k, v] : exit_for) {
        if (r.argv.front() == k || r.argv.back() == k) return v;
      }
      return 0;
    };
  }
};

TEST(JoinPlan, EveryStepKind) {
  auto steps = planSteps(
      recipe(json::array({
                 {{"run", {"mkdir", "-p", "/var/lib/${NAME}"}}, {"name", "make dirs"}},
                 {{"ctr_import", "/opt/images/etcd.tar"}},
                 {{"ctr_run", {{"image", "registry.local/etcd:3.4"}, {"id", "etcd-${DROVER_NODE}"},
                               {"net_host", true}, {"env", {{"ETCD_NAME", "${DROVER_NODE}"}}},
                               {"mounts", {"/var/lib/etcd:/data"}}, {"args", {"etcd", "--data-dir", "/data"}}}}},
                 {{"write_file", {{"path", "/etc/drover/${NAME}.conf"}, {"content", "node=${DROVER_NODE}\n"}, {"mode", "0600"}}}},
             }),
             {{"NAME", "etcd"}}),
      rt(), {{"DROVER_NODE", "master-1"}});
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  ASSERT_EQ(steps->size(), 4u);
  EXPECT_EQ((*steps)[0].name, "make dirs");
  EXPECT_EQ((*steps)[0].argv, (Argv{"mkdir", "-p", "/var/lib/etcd"}));
  EXPECT_EQ((*steps)[1].argv, (Argv{"ctr", "--address", "/run/d/c.sock", "--namespace", "drover", "images",
                                    "import", "/opt/images/etcd.tar"}));
  EXPECT_EQ((*steps)[2].argv,
            (Argv{"ctr", "--address", "/run/d/c.sock", "--namespace", "drover", "run", "-d", "--net-host",
                  "--env", "ETCD_NAME=master-1", "--mount",
                  "type=bind,src=/var/lib/etcd,dst=/data,options=rbind:rw", "registry.local/etcd:3.4",
                  "etcd-master-1", "etcd", "--data-dir", "/data"}));
  EXPECT_EQ((*steps)[2].container_id, "etcd-master-1");
  EXPECT_EQ((*steps)[3].write_path, "/etc/drover/etcd.conf");
  EXPECT_EQ((*steps)[3].write_content, "node=master-1\n");
  EXPECT_EQ((*steps)[3].write_mode, 0600u);
}

TEST(JoinPlan, BadRecipesFailBeforeAnythingRuns) {
  for (const json& bad : {json::array({"run me"}), json::array({json::object()}),
                          json::array({{{"run", json::array()}}}),
                          json::array({{{"run", {"a", 1}}}}),
                          json::array({{{"run", {"a"}}, {"ctr_import", "/x"}}}),
                          json::array({{{"run", {"${NOPE}"}}}}),
                          json::array({{{"ctr_run", {{"image", "x"}}}}}),
                          json::array({{{"ctr_run", {{"image", "x"}, {"id", "y"}, {"mounts", {"nocolon"}}}}}}),
                          json::array({{{"explode", true}}})}) {
    auto r = planSteps(recipe(bad), rt(), {});
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().code, "bad_recipe");
    EXPECT_NE(r.error().message.find("step 0"), std::string::npos) << r.error().message;
  }
}

TEST(JoinRun, RunsInOrderAndStopsAtFirstFailure) {
  auto steps = planSteps(recipe(json::array({{{"run", {"one"}}}, {{"run", {"two"}}}, {{"run", {"three"}}}})), rt(), {});
  ASSERT_TRUE(steps.ok());
  FakeExec ok;
  EXPECT_TRUE(runSteps(*steps, ok.fn()).ok());
  EXPECT_EQ(ok.calls, (std::vector<Argv>{{"one"}, {"two"}, {"three"}}));

  FakeExec failing;
  failing.exit_for["two"] = 3;
  auto st = runSteps(*steps, failing.fn());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "step");
  EXPECT_NE(st.error().message.find("exited with 3"), std::string::npos);
  EXPECT_EQ(failing.calls.size(), 2u);
}

TEST(JoinRun, IgnoreErrorAndWriteFile) {
  test::TempDir tmp;
  const auto file = tmp.path() / "sub/x.conf";
  auto steps = planSteps(recipe(json::array({{{"run", {"flaky"}}, {"ignore_error", true}},
                                             {{"write_file", {{"path", file.string()}, {"content", "hello\n"}}}}})),
                         rt(), {});
  ASSERT_TRUE(steps.ok());
  FakeExec ex;
  ex.exit_for["flaky"] = 1;
  EXPECT_TRUE(runSteps(*steps, ex.fn()).ok());
  std::ifstream in(file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "hello\n");
}

// What etcd_join finds out (the peer list, the cluster state) holds for the steps after it:
// they are planned again with those values; the steps before are not run again.
TEST(JoinRun, EtcdJoinSetsTheValuesOfTheStepsAfterIt) {
  const auto r = recipe(
      json::array({{{"run", {"before"}}},
                   {{"etcd_join",
                     {{"endpoints", "${OTHERS}"},
                      {"name", "${DROVER_NODE}"},
                      {"peer_url", "http://192.0.2.12:2380"},
                      {"initial_cluster", "${ETCD_INITIAL_CLUSTER}"}}}},
                   {{"run", {"etcd", "${ETCD_INITIAL_CLUSTER}", "${ETCD_INITIAL_CLUSTER_STATE}"}}},
                   {{"etcd_promote", {{"endpoints", "${OTHERS}"}, {"peer_url", "http://p"}}}}}),
      {{"OTHERS", "http://192.0.2.11:2379"},
       {"ETCD_INITIAL_CLUSTER", "m2=http://192.0.2.12:2380"},
       {"ETCD_INITIAL_CLUSTER_STATE", "new"}});
  const std::map<std::string, std::string> vars{{"DROVER_NODE", "m2"}};
  auto steps = planSteps(r, rt(), vars);
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  ASSERT_EQ(steps->size(), 4u);
  EXPECT_EQ((*steps)[1].etcd, "join");
  EXPECT_EQ((*steps)[1].name, "etcd join");
  EXPECT_EQ((*steps)[1].etcd_args.at("endpoints"), "http://192.0.2.11:2379");
  EXPECT_EQ((*steps)[1].etcd_args.at("name"), "m2");
  EXPECT_EQ((*steps)[3].etcd, "promote");

  FakeExec ex;
  std::vector<std::string> etcd_ran;
  StepHooks hooks;
  hooks.etcd = [&](const PlannedStep& s) -> Result<Vars> {
    etcd_ran.push_back(s.etcd);
    if (s.etcd == "join")
      return Vars{{"ETCD_INITIAL_CLUSTER", "m1=http://192.0.2.11:2380,m2=http://192.0.2.12:2380"},
                  {"ETCD_INITIAL_CLUSTER_STATE", "existing"}};
    return Vars{};
  };
  hooks.replan = [&](const Vars& found) { return planSteps(r, rt(), vars, found); };
  ASSERT_TRUE(runSteps(*steps, ex.fn(), hooks).ok());
  EXPECT_EQ(etcd_ran, (std::vector<std::string>{"join", "promote"}));
  EXPECT_EQ(ex.calls,
            (std::vector<Argv>{
                {"before"},
                {"etcd", "m1=http://192.0.2.11:2380,m2=http://192.0.2.12:2380", "existing"}}));

  // A failing etcd step stops the recipe with its reason; without a runner it fails too.
  hooks.etcd = [](const PlannedStep&) -> Result<Vars> {
    return makeError("etcd_join", "etcd POST http://192.0.2.11:2379/v3/cluster/member/add: boom");
  };
  FakeExec stopped;
  auto st = runSteps(*steps, stopped.fn(), hooks);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("member/add: boom"), std::string::npos);
  EXPECT_EQ(stopped.calls.size(), 1u);
  EXPECT_FALSE(runSteps(*steps, stopped.fn()).ok());

  for (const json& bad :
       {json::array({{{"etcd_join", "x"}}}), json::array({{{"etcd_join", {{"name", "a"}}}}}),
        json::array({{{"etcd_promote", {{"endpoints", "a"}, {"peer_url", 3}}}}}),
        json::array({{{"etcd_promote", {{"endpoints", "a"}}}}})}) {
    auto p = planSteps(recipe(bad), rt(), {});
    ASSERT_FALSE(p.ok()) << bad.dump();
    EXPECT_EQ(p.error().code, "bad_recipe");
  }
}

TEST(JoinRun, ExecThatCannotStartIsAFailure) {
  auto steps = planSteps(recipe(json::array({{{"run", {"/nonexistent/drover-test-binary"}}}})), rt(), {});
  ASSERT_TRUE(steps.ok());
  auto st = runSteps(*steps, runProcess);
  ASSERT_FALSE(st.ok());
}

TEST(JoinRun, RealProcessExitCodes) {
  EXPECT_EQ(*runProcess({{"true"}, {}, ""}), 0);
  EXPECT_EQ(*runProcess({{"sh", "-c", "exit 7"}, {}, ""}), 7);
  EXPECT_EQ(*runProcess({{"sh", "-c", "test \"$DROVER_X\" = 1"}, {{"DROVER_X", "1"}}, ""}), 0);
}

TEST(JoinRun, RestartStepsRunContainersAgain) {
  auto steps = planSteps(recipe(json::array({{{"run", {"once"}}},
                                             {{"ctr_run", {{"image", "img"}, {"id", "svc"}}}}})),
                         rt(), {});
  ASSERT_TRUE(steps.ok());
  auto again = restartSteps(*steps, rt());
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].argv, (Argv{"ctr", "--address", "/run/d/c.sock", "--namespace", "drover", "containers", "rm", "svc"}));
  EXPECT_TRUE(again[0].ignore_error);
  EXPECT_EQ(again[1].container_id, "svc");
}

}  // namespace
}  // namespace drover::agent
