// `reinstall --reboot` and the failed-handoff loop against an in-process drover serve with
// server.boot.handoff_deadline: 3s, the Redfish mock (tests/power/redfish_mock.py) as the
// BMC and a stand-in agent: heartbeats and reports over the API, the real agent's
// heartbeat parser and rebootToNetwork on a directory standing in for efivarfs. The deadline
// is the time the stand-in agent has to answer: under ASan beside other tests an answer
// took 1.6 s, so it is not shorter.
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "agent/api_client.hpp"
#include "agent/efi_boot.hpp"
#include "agent/net_reboot.hpp"
#include "cli/commands.hpp"
#include "tests/agent/efi_load_options.hpp"
#include "tests/power/child_process.hpp"
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::drover::power::testing::ChildProcess;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kNode = "node-3";
constexpr const char* kMac = "52:54:00:12:34:58";

class HandoffFlowTest : public ::testing::Test {
 protected:
  void serve(const std::string& mode) {
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
    y.boot = "{ handoff_deadline: 3s }";
    y.nodes +=
        std::string("  - name: ") + kNode + "\n    mac: " + kMac +
        "\n    ip: 192.0.2.12\n    bmc: { driver: redfish, address: \"http://127.0.0.1:" + port +
        "\", credentials: lab, insecure: true, timeout: 5s }\n";
    writeFile(dir_.path() / "cluster.yaml", y.str());
    app_ = std::make_unique<RunningApp>(dir_.path() / "cluster.yaml");
    ASSERT_TRUE(app_->ok());
    // The node booted once: its boot environment traded the token for a credential, which
    // the installed OS's agent uses.
    std::smatch m;
    const auto text = bootScript();
    ASSERT_TRUE(std::regex_search(text, m, std::regex("drover\\.token=([A-Za-z0-9_-]+)")));
    auto ex = call("POST", "/v1/agent/exchange", "", json{{"token", m[1].str()}}.dump());
    ASSERT_EQ(ex.status, 200) << ex.body;
    agent_ = ex.json().value("credential", "");
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
  // What the machine's firmware asks for when it boots from the network.
  std::string bootScript() {
    return perform(
               {.url = app_->http() + "/boot.ipxe?mac=" + kMac + "&uuid=&arch=x86_64&platform=efi"})
        .body;
  }
  Reply reinstall(const std::string& body) {
    return call("POST", std::string("/v1/nodes/") + kNode + "/reinstall", app_->operatorToken(),
                body);
  }
  agent::HeartbeatReply heartbeat() {
    auto r = call("POST", "/v1/agent/heartbeat", agent_, "{}");
    EXPECT_EQ(r.status, 200) << r.body;
    auto parsed = agent::parseHeartbeat(r.body);
    EXPECT_TRUE(parsed) << r.body;
    return parsed ? *parsed : agent::HeartbeatReply{};
  }
  void report(const std::string& id, std::string_view phase, const std::string& message) {
    auto r = call("POST", "/v1/agent/events", agent_,
                  json{{"phase", phase}, {"message", message}, {"id", id}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
  }
  std::string timeline() {
    return call("GET", std::string("/v1/nodes/") + kNode + "/events", app_->operatorToken()).body;
  }
  // Waits (bounded) until the timeline holds `count` entries of `phase`; prints how long.
  bool waitFor(const std::string& phase, int count) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) {
      int seen = 0;
      for (const auto& e : json::parse(timeline(), nullptr, false))
        if (e.is_object() && e.value("phase", "") == phase) ++seen;
      if (seen >= count) {
        std::printf(
            "%s #%d after %.2f s\n", phase.c_str(), count,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  std::int64_t metric(const std::string& series) {
    auto text = perform({.url = app_->http() + "/metrics"}).body;
    auto at = text.find(series + " ");
    return at == std::string::npos ? 0 : std::stoll(text.substr(at + series.size() + 1));
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<RunningApp> app_;
  std::string agent_;
};

TEST_F(HandoffFlowTest, ABmcHandoffThatNeverArrivesIsRetriedThroughTheAgent) {
  serve("normal");  // accepts the override; no machine answers the power cycle
  ASSERT_FALSE(HasFatalFailure());
  const auto bmc_before = metric(R"(drover_handoff_failures_total{method="bmc"})");
  const auto agent_before = metric(R"(drover_handoff_failures_total{method="agent"})");
  EXPECT_EQ(heartbeat().action, "");
  auto r = reinstall(R"({"power":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().value("handoff_deadline", ""), "3s");
  ASSERT_TRUE(waitFor("handoff_failed", 1)) << timeline();
  EXPECT_THAT(timeline(), HasSubstr("bmc: not heard from on the network within 3s"));
  const auto request = heartbeat();
  ASSERT_EQ(request.action, "reinstall");
  EXPECT_EQ(request.mac, kMac);
  report(request.id, "reboot_network", "rebooting into the network: BootNext=Boot0004");
  EXPECT_EQ(heartbeat().action, "");  // taken once
  ASSERT_TRUE(waitFor("handoff_failed", 2)) << timeline();
  EXPECT_THAT(timeline(), HasSubstr("agent: not heard from on the network within 3s of the "
                                    "agent setting BootNext and rebooting"));
  EXPECT_THAT(timeline(), HasSubstr("no other way to send it"));
  EXPECT_EQ(metric(R"(drover_handoff_failures_total{method="bmc"})"), bmc_before + 1);
  EXPECT_EQ(metric(R"(drover_handoff_failures_total{method="agent"})"), agent_before + 1);
}

TEST_F(HandoffFlowTest, AnAgentHandoffFallsBackToABmcThatIgnoresTheOverride) {
  serve("ignore-boot");
  ASSERT_FALSE(HasFatalFailure());
  heartbeat();
  auto r = reinstall(R"({"reboot":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto request = heartbeat();
  ASSERT_EQ(request.action, "reinstall");
  EXPECT_EQ(request.id, r.json().value("id", ""));
  report(request.id, "reboot_network", "rebooting into the network: BIOS");
  ASSERT_TRUE(waitFor("handoff_failed", 2)) << timeline();
  const auto tl = timeline();
  EXPECT_THAT(tl, HasSubstr("trying the BMC's boot override instead"));
  EXPECT_THAT(tl, HasSubstr("bmc: bmc ignored boot override"));
  auto st = call("GET", std::string("/v1/nodes/") + kNode + "/power", app_->operatorToken());
  EXPECT_EQ(st.json().value("power", ""), "off");  // never cycled
}

TEST_F(HandoffFlowTest, TheAgentsBootNextReachesTheNetworkAndEndsTheHandoff) {
  serve("normal");
  ASSERT_FALSE(HasFatalFailure());
  const auto done_before = metric(R"(drover_handoffs_total{method="agent"})");
  heartbeat();
  const cli::ApiTarget target{.api = app_->api(), .state_dir = app_->app().stateDir().string()};
  std::ostringstream out, err;
  ASSERT_EQ(cli::runReinstall(target, kNode, out, err, cli::ReinstallVia::kReboot), 0) << err.str();
  EXPECT_EQ(out.str(),
            "node-3: reinstall requested; its agent sets the network as the next boot and reboots "
            "at its next heartbeat, within 30s; it must reach the network within 3s (`drover node "
            "node-3` shows handoff or handoff_failed)\n");
  const auto request = heartbeat();
  ASSERT_EQ(request.action, "reinstall");
  // The agent's own code on OVMF-like variables; its reboot is the machine booting from
  // the network: the firmware asks for its script, which installs it.
  using namespace ::drover::agent::efi::testing;
  const auto efi = dir_.path() / "efi";
  writeFile(efi / "efivars" / agent::efi::variableFile("Boot0000"), efivarfsFile(disk()));
  writeFile(efi / "efivars" / agent::efi::variableFile("Boot0004"),
            efivarfsFile(pxe4({0x52, 0x54, 0x00, 0x12, 0x34, 0x58})));
  std::string script;
  agent::NetworkRebootOptions opt{efi, efi / "efivars", [&] {
                                    script = bootScript();
                                    return Status{};
                                  }};
  auto st = agent::rebootToNetwork(
      {request.id, request.mac}, opt,
      [&](std::string_view phase, const std::string& m) { report(request.id, phase, m); });
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(agent::efi::readBootNext(efi / "efivars"), 4);
  EXPECT_THAT(script, HasSubstr("drover.token="));               // the install script
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // past the deadline
  const auto tl = timeline();
  EXPECT_THAT(tl, HasSubstr("BootNext=Boot0004"));
  EXPECT_THAT(tl, HasSubstr("reached the network (script install)"));
  EXPECT_THAT(tl, ::testing::Not(HasSubstr("handoff_failed")));
  EXPECT_EQ(metric(R"(drover_handoffs_total{method="agent"})"), done_before + 1);
}

TEST_F(HandoffFlowTest, ARebootNeedsAnAgentThatIsHeardFrom) {
  serve("normal");
  ASSERT_FALSE(HasFatalFailure());
  auto r = reinstall(R"({"reboot":true})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json().value("error", ""), "agent_unreachable");
  EXPECT_EQ(reinstall(R"({"reboot":true,"power":true})").status, 400);
  EXPECT_THAT(timeline(), ::testing::Not(HasSubstr("reinstall_requested")));
}

}  // namespace
}  // namespace drover::server::testing
