// The reinstall of a joined etcd-member node over the API: Drover asks the declared members
// (here loopback addresses where no etcd listens) before marking it; refused with the
// reason on the timeline and in the answer unless forced. A node that has not joined is
// reinstalled without asking. The removal itself is tested against real etcd in
// tests/ha/etcd_grow_test.cpp.
#include <sstream>

#include "cli/commands.hpp"
#include "tests/server/serve_fixture.hpp"
#include "tests/support/cluster_yaml.hpp"

namespace drover::server::testing {
namespace {

using ::testing::HasSubstr;

class EtcdReinstallTest : public ServeTest {
 protected:
  void SetUp() override {
    ::drover::test::writeSiteFiles(dir_.path(), kKernelBytes);
    ::drover::test::ClusterYaml y;
    y.networks = "  - name: lo\n    subnet: 127.0.0.0/8\n";
    y.nodes =
        "  - name: node-1\n    mac: 52:54:00:12:34:56\n    ip: 127.0.0.2\n"
        "  - name: node-2\n    mac: 52:54:00:12:34:57\n    ip: 127.0.0.3\n";
    writeFile(dir_.path() / "cluster.yaml", y.str());
    config_ = dir_.path() / "cluster.yaml";
    app_ = std::make_unique<RunningApp>(config_);
    ASSERT_TRUE(app_->ok());
  }
  Reply reinstall(const std::string& body) {
    return apiCall("POST", "/v1/nodes/node-1/reinstall", app_->operatorToken(), body);
  }
  std::string timeline() { return op("GET", "/v1/nodes/node-1/events").body; }
};

TEST_F(EtcdReinstallTest, JoinedMemberIsRefusedWhenEtcdCannotBeAskedUnlessForced) {
  install(kMac1);
  // Installed, not joined: no member runs, nothing to ask.
  auto first = reinstall("{}");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_THAT(timeline(), ::testing::Not(HasSubstr("\"etcd\"")));
  const auto cred = install(kMac1);
  ASSERT_EQ(event(cred, "joined").status, 200);

  auto refused = reinstall("{}");
  ASSERT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.json().value("error", ""), "etcd_unreachable");
  EXPECT_THAT(refused.json().value("message", ""),
              HasSubstr("no etcd member answered at http://127.0.0.2:2379, http://127.0.0.3:2379"));
  EXPECT_THAT(refused.json().value("message", ""), HasSubstr("--force"));
  EXPECT_EQ(op("GET", "/v1/nodes/node-1").json().value("state", ""), "joined");
  EXPECT_THAT(timeline(), HasSubstr("reinstall refused: no etcd member answered"));

  // The CLI says why, and --force sends {"force": true}.
  const cli::ApiTarget target{.api = app_->api(), .state_dir = app_->app().stateDir().string()};
  std::ostringstream out, err;
  EXPECT_NE(cli::runReinstall(target, "node-1", out, err), 0);
  EXPECT_THAT(err.str(), HasSubstr("409 /v1/nodes/node-1/reinstall: reinstall refused: no etcd "
                                   "member answered"));
  EXPECT_EQ(cli::runReinstall(target, "node-1", out, err, cli::ReinstallVia::kNextBoot, true), 0)
      << err.str();
  EXPECT_EQ(op("GET", "/v1/nodes/node-1").json().value("state", ""), "joined+reinstall");
  EXPECT_THAT(timeline(), HasSubstr("forced: reinstalling without removing the member"));
  auto metrics = get("/metrics").body;
  EXPECT_THAT(metrics,
              HasSubstr("drover_etcd_member_removals_total{outcome=\"refused_unreachable\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("drover_etcd_member_removals_total{outcome=\"forced\"} 1"));
}

}  // namespace
}  // namespace drover::server::testing
