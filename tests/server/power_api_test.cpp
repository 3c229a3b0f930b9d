// /v1/nodes/{name}/power and reinstall with power, against the Redfish mock
// (tests/power/redfish_mock.py): the auth matrix, actions on the timeline, the read-back
// of the boot override, one operation per node, and the metrics.
#include <cstdlib>
#include <future>

#include <sstream>

#include "cli/commands.hpp"
#include "tests/power/child_process.hpp"
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::drover::power::testing::ChildProcess;

constexpr const char* kBmcNode = "node-3";
constexpr const char* kBmcMac = "52:54:00:12:34:58";

class PowerApiTest : public ::testing::Test {
 protected:
  void serve(const std::string& mode, const std::string& timeout = "5s") {
    const char* src = std::getenv("DROVER_SOURCE_DIR");
    const auto script = std::filesystem::path(src ? src : ".") / "tests/power/redfish_mock.py";
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"python3", script.string(), "--mode", mode});
    const auto port = mock_->readLine();
    ASSERT_FALSE(port.empty());
    ::setenv("DROVER_BMC_LAB_USERNAME", "admin", 1);
    ::setenv("DROVER_BMC_LAB_PASSWORD", "secret", 1);
    ::drover::test::writeSiteFiles(dir_.path(), kKernelBytes);
    ::drover::test::ClusterYaml y;
    y.nodes +=
        std::string("  - name: ") + kBmcNode + "\n    mac: " + kBmcMac +
        "\n    ip: 192.0.2.12\n    bmc: { driver: redfish, address: \"http://127.0.0.1:" + port +
        "\", credentials: lab, insecure: true, timeout: " + timeout + " }\n";
    writeFile(dir_.path() / "cluster.yaml", y.str());
    app_ = std::make_unique<RunningApp>(dir_.path() / "cluster.yaml");
    ASSERT_TRUE(app_->ok());
  }
  void TearDown() override {
    app_.reset();
    ::unsetenv("DROVER_BMC_LAB_USERNAME");
    ::unsetenv("DROVER_BMC_LAB_PASSWORD");
  }

  Reply call(const std::string& method, const std::string& path, const std::string& bearer,
             std::optional<std::string> body = std::nullopt) {
    Call c{
        .method = method, .url = app_->api() + path, .body = std::move(body), .ca = app_->caFile()};
    if (!bearer.empty()) c.headers.push_back("Authorization: Bearer " + bearer);
    return perform(c);
  }
  Reply power(const std::string& action) {
    return call("POST", std::string("/v1/nodes/") + kBmcNode + "/power", app_->operatorToken(),
                nlohmann::json{{"action", action}}.dump());
  }
  static std::string get(const std::string& url) { return perform({.url = url}).body; }
  std::string timeline() {
    return call("GET", std::string("/v1/nodes/") + kBmcNode + "/events", app_->operatorToken())
        .body;
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<RunningApp> app_;
};

TEST_F(PowerApiTest, OnlyTheOperatorTokenOpensPower) {
  serve("normal");
  ASSERT_FALSE(HasFatalFailure());
  const std::string path = std::string("/v1/nodes/") + kBmcNode + "/power";
  const auto body = std::optional<std::string>(R"({"action":"on"})");
  // An agent's credential (node-1's) and a boot token are not the operator's.
  Call s{.url =
             app_->http() + "/boot.ipxe?mac=52:54:00:12:34:56&uuid=&arch=x86_64&platform=pcbios"};
  std::smatch m;
  const auto script = perform(s).body;
  ASSERT_TRUE(std::regex_search(script, m, std::regex("drover\\.token=([A-Za-z0-9_-]+)")));
  const std::string boot_token = m[1];
  auto ex = call("POST", "/v1/agent/exchange", "", nlohmann::json{{"token", boot_token}}.dump());
  ASSERT_EQ(ex.status, 200);
  const auto agent = ex.json().value("credential", "");
  for (const std::string method : {"GET", "POST"}) {
    auto b = method == "POST" ? body : std::nullopt;
    EXPECT_EQ(call(method, path, "", b).status, 401) << method;
    EXPECT_EQ(call(method, path, agent, b).status, 401) << method;
    EXPECT_EQ(call(method, path, boot_token, b).status, 401) << method;
    EXPECT_EQ(call(method, path, app_->operatorToken(), b).status, 200) << method;
  }
}

TEST_F(PowerApiTest, ActionsGoOnTheTimelineAndAreCounted) {
  serve("normal");
  ASSERT_FALSE(HasFatalFailure());
  auto on = power("on");
  ASSERT_EQ(on.status, 200) << on.body;
  auto st = call("GET", std::string("/v1/nodes/") + kBmcNode + "/power", app_->operatorToken());
  ASSERT_EQ(st.status, 200) << st.body;
  EXPECT_EQ(st.json().value("power", ""), "on");
  EXPECT_EQ(st.json().value("driver", ""), "redfish");
  EXPECT_EQ(power("sideways").status, 400);
  EXPECT_EQ(call("POST", "/v1/nodes/node-1/power", app_->operatorToken(), R"({"action":"on"})")
                .json()
                .value("error", ""),
            "no_bmc");
  const auto tl = timeline();
  EXPECT_THAT(tl, ::testing::HasSubstr("operator asked: power on"));
  EXPECT_THAT(tl, ::testing::HasSubstr("power on: done"));
  const auto metrics = get(app_->http() + "/metrics");
  EXPECT_THAT(metrics,
              ::testing::HasSubstr(R"(drover_bmc_requests_total{driver="redfish",result="ok"})"));
}

TEST_F(PowerApiTest, ReinstallWithPowerBootsTheNetworkOnceThenCycles) {
  serve("normal");
  ASSERT_FALSE(HasFatalFailure());
  auto r = call("POST", std::string("/v1/nodes/") + kBmcNode + "/reinstall", app_->operatorToken(),
                R"({"power":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().value("power", ""), "on");  // it was off
  EXPECT_THAT(timeline(), ::testing::HasSubstr("next boot: network (once), read back"));
}

TEST_F(PowerApiTest, AnIgnoredBootOverrideStopsTheReinstall) {
  serve("ignore-boot");
  ASSERT_FALSE(HasFatalFailure());
  auto r = call("POST", std::string("/v1/nodes/") + kBmcNode + "/reinstall", app_->operatorToken(),
                R"({"power":true})");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json().value("error", ""), "bmc_ignored_boot_override");
  EXPECT_THAT(timeline(), ::testing::HasSubstr("bmc ignored boot override"));
  auto st = call("GET", std::string("/v1/nodes/") + kBmcNode + "/power", app_->operatorToken());
  EXPECT_EQ(st.json().value("power", ""), "off");  // never cycled
}

TEST_F(PowerApiTest, ASecondRequestWhileOneRunsIsRefused) {
  serve("timeout", "2s");
  ASSERT_FALSE(HasFatalFailure());
  auto first = std::async(std::launch::async, [this] { return power("cycle"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  auto second = power("off");
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.json().value("error", ""), "bmc_busy");
  auto r = first.get();
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json().value("error", ""), "bmc_timeout");
  EXPECT_THAT(timeline(), ::testing::HasSubstr("bmc_timeout"));
}

TEST_F(PowerApiTest, CredentialsFileOthersCanReadIsRefused) {
  serve("normal");
  ASSERT_FALSE(HasFatalFailure());
  ::unsetenv("DROVER_BMC_LAB_USERNAME");
  ::unsetenv("DROVER_BMC_LAB_PASSWORD");
  const auto file = app_->app().stateDir() / "bmc-credentials.yaml";
  writeFile(file, "lab: {username: admin, password: secret}\n");
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  const std::string path = std::string("/v1/nodes/") + kBmcNode + "/power";
  auto refused = call("GET", path, app_->operatorToken());
  EXPECT_EQ(refused.status, 500) << refused.body;
  EXPECT_EQ(refused.json().value("error", ""), "bmc_credentials");
  EXPECT_THAT(refused.json().value("message", ""), ::testing::HasSubstr("chmod 600"));
  std::filesystem::permissions(file, std::filesystem::perms(0600));
  auto ok = call("GET", path, app_->operatorToken());
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(PowerApiTest, PowerCommandPrintsStateAndRefusals) {
  serve("normal");
  ASSERT_FALSE(HasFatalFailure());
  const cli::ApiTarget target{.api = app_->api(), .state_dir = app_->app().stateDir().string()};
  std::ostringstream out, err;
  EXPECT_EQ(cli::runPower(target, kBmcNode, "on", out, err), 0) << err.str();
  EXPECT_EQ(cli::runPower(target, kBmcNode, "status", out, err), 0) << err.str();
  EXPECT_THAT(out.str(), ::testing::HasSubstr("node-3: power on done"));
  EXPECT_THAT(out.str(), ::testing::HasSubstr("node-3: power on (redfish)"));
  std::ostringstream out2, err2;
  EXPECT_EQ(cli::runPower(target, "node-1", "off", out2, err2), 1);
  EXPECT_THAT(err2.str(), ::testing::HasSubstr("node-1 declares no bmc"));
}

}  // namespace
}  // namespace drover::server::testing
