// The boot flow as a machine sees it: entry script, install script, the agent's calls,
// then local boot on every later power-on, reinstall, failure, unknown machines.
#include <filesystem>

#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(ServeTest, EntryScriptChainsWithTheMachineIdentity) {
  auto r = get("/boot.ipxe");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, ::testing::StartsWith("#!ipxe\n"));
  EXPECT_THAT(
      r.body,
      HasSubstr("/boot.ipxe?mac=${netX/mac}&uuid=${uuid}&arch=${buildarch}&platform=${platform}"));
}

TEST_F(ServeTest, KnownMachineGetsTheInstallScriptWithABootToken) {
  const auto s = script(kMac1);
  EXPECT_THAT(s, HasSubstr("drover.mode=install"));
  EXPECT_THAT(s, HasSubstr("drover.node=node-1"));
  EXPECT_THAT(s, HasSubstr("/assets/boot-env/kernel"));
  EXPECT_THAT(s, HasSubstr("/assets/boot-env/initrd"));
  EXPECT_THAT(s, HasSubstr("drover.ca=sha256:"));
  EXPECT_THAT(s, Not(HasSubstr("initrd=initrd.img")));  // BIOS: iPXE hands the initrd over
  EXPECT_FALSE(tokenOf(s).empty());
  // The URLs carry the bound ports, not the configured port 0.
  EXPECT_THAT(s, HasSubstr(app_->http() + "/assets/"));
  EXPECT_THAT(s, HasSubstr("drover.api=" + app_->api() + " "));

  const auto efi = script(kMac1, "efi");
  EXPECT_THAT(efi, HasSubstr("initrd=initrd.img"));
  EXPECT_NE(tokenOf(efi), tokenOf(s));  // a new single-use token per script
}

// Install scripts are prepared once per node and declaration, the token put in per
// request: repeated requests differ only in the token, and a reload that changes the
// profile's kernel arguments changes the next script.
TEST_F(ServeTest, ReloadedDeclarationChangesThePreparedInstallScript) {
  const auto first = script(kMac1);
  const auto again = script(kMac1);
  ASSERT_FALSE(tokenOf(first).empty());
  EXPECT_NE(tokenOf(first), tokenOf(again));
  auto without = [this](std::string text) {
    const auto token = tokenOf(text);
    text.replace(text.find(token), token.size(), "TOKEN");
    return text;
  };
  EXPECT_EQ(without(first), without(again));
  EXPECT_THAT(first, Not(HasSubstr("quiet-after-reload")));

  auto yaml = clusterYaml(dir_.path());
  const std::string at = "    install: { image: os, disk: /dev/vda }\n";
  yaml.replace(yaml.find(at) + at.size(), 0, "    kernel_args: [quiet-after-reload]\n");
  writeFile(config_, yaml);
  ASSERT_TRUE(app_->app().reload().ok());
  const auto reloaded = script(kMac1);
  EXPECT_THAT(reloaded, HasSubstr("quiet-after-reload"));
  EXPECT_FALSE(tokenOf(reloaded).empty());
}

TEST_F(ServeTest, MacMatchesInDashAndUpperCaseForms) {
  for (std::string mac : {"52-54-00-12-34-56", "52:54:00:12:34:56", "52-54-00-12-34-56"}) {
    for (auto& c : mac) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_THAT(script(mac), HasSubstr("drover.node=node-1")) << mac;
  }
}

TEST_F(ServeTest, InstalledNodeBootsLocallyOnEveryLaterPowerOn) {
  const auto cred = install(kMac1);
  for (int boot = 0; boot < 3; ++boot) {
    const auto s = script(kMac1);
    EXPECT_THAT(s, HasSubstr("sanboot")) << "power-on " << boot;
    EXPECT_THAT(s, Not(HasSubstr("drover.mode=install")));
    EXPECT_TRUE(tokenOf(s).empty());
  }
  // A stray install boot (say the firmware picked the NIC) must not wipe the node.
  EXPECT_EQ(registerNode(cred, kMac1).json().value("action", ""), "boot-local");
  EXPECT_EQ(op("GET", "/v1/nodes/node-1").json().value("state", ""), "installed");

  // The agent in the installed OS joins; still a local boot.
  EXPECT_EQ(event(cred, "joined").status, 200);
  // x64 UEFI: the script chains the network GRUB, served from server.boot.grub_efi.
  const auto efi = script(kMac1, "efi");
  EXPECT_THAT(efi,
              HasSubstr("chain --autofree " + app_->http() + "/grubnetx64.efi || goto failed"));
  EXPECT_THAT(efi, Not(HasSubstr("sanboot")));
  const auto grub = get("/grubnetx64.efi");
  EXPECT_EQ(grub.status, 200);
  EXPECT_EQ(grub.body.size(),
            std::filesystem::file_size("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"));
  // The other node is untouched.
  EXPECT_THAT(script(kMac2), HasSubstr("drover.mode=install"));
}

TEST_F(ServeTest, OperatorReinstallInstallsAgainOnce) {
  install(kMac1);
  auto r = op("POST", "/v1/nodes/node-1/reinstall");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(op("GET", "/v1/nodes/node-1").json().value("state", ""), "installed+reinstall");
  EXPECT_THAT(script(kMac1), HasSubstr("drover.mode=install"));
  // The new install runs; afterwards the disk boots again.
  install(kMac1);
  EXPECT_THAT(script(kMac1), HasSubstr("sanboot"));
  EXPECT_EQ(op("GET", "/v1/nodes/node-1").json().value("state", ""), "installed");
}

TEST_F(ServeTest, FailedInstallShowsTheReasonUntilReinstall) {
  auto cred = credentialFor(kMac1);
  registerNode(cred, kMac1);
  ASSERT_EQ(event(cred, "failed", "disk /dev/vda too small").status, 200);
  // The failure script repeats on every retry, and keeps its reason however often it runs.
  for (int i = 0; i < 30; ++i) {
    const auto s = script(kMac1);
    ASSERT_THAT(s, HasSubstr("FAILED: disk /dev/vda too small")) << "retry " << i;
    ASSERT_THAT(s, Not(HasSubstr("drover.mode=install")));
  }
  EXPECT_EQ(op("POST", "/v1/nodes/node-1/reinstall").status, 200);
  EXPECT_THAT(script(kMac1), HasSubstr("drover.mode=install"));
}

TEST_F(ServeTest, NeverBootedNodeReinstallIsAccepted) {
  EXPECT_EQ(op("POST", "/v1/nodes/node-2/reinstall").status, 200);
  EXPECT_EQ(op("POST", "/v1/nodes/nope/reinstall").status, 404);
}

TEST_F(ServeTest, UnknownMachineBootsDiscoveryAndWaits) {
  const auto s = script(kUnknownMac);
  EXPECT_THAT(s, HasSubstr("drover.mode=discover"));
  const auto token = tokenOf(s);
  ASSERT_FALSE(token.empty());
  auto x = apiCall("POST", "/v1/agent/exchange", "", nlohmann::json{{"token", token}}.dump());
  ASSERT_EQ(x.status, 200) << x.body;
  EXPECT_EQ(x.json().value("node", ""), "unknown-525400aabbcc");
  auto reg = registerNode(x.json().value("credential", ""), kUnknownMac);
  ASSERT_EQ(reg.status, 200) << reg.body;
  EXPECT_EQ(reg.json().value("action", ""), "wait");
  EXPECT_EQ(reg.json().value("state", ""), "discovered");
  // The agent reports its registration as a timeline entry; that moves nothing: a
  // discovered machine stays discovered and waits (it is not told to install).
  const auto credential = x.json().value("credential", "");
  ASSERT_EQ(event(credential, "registered", "mode=discover action=wait state=discovered").status,
            200);
  reg = registerNode(credential, kUnknownMac);
  EXPECT_EQ(reg.json().value("action", ""), "wait");
  EXPECT_EQ(reg.json().value("state", ""), "discovered");
  // The operator sees it, undeclared.
  auto nodes = op("GET", "/v1/nodes").json();
  bool seen = false;
  for (const auto& n : nodes) {
    if (n.value("name", "") == "unknown-525400aabbcc") {
      seen = true;
      EXPECT_FALSE(n.value("declared", true));
      EXPECT_EQ(n.value("mac", ""), kUnknownMac);
    }
  }
  EXPECT_TRUE(seen) << nodes.dump();
  // An undeclared node has no plan.
  EXPECT_EQ(apiCall("GET", "/v1/agent/plan", x.json().value("credential", "")).status, 409);
}

TEST_F(ServeTest, AgentCallsReturnThePlanCloudConfigAndJoin) {
  auto cred = credentialFor(kMac1);
  auto plan = apiCall("GET", "/v1/agent/plan", cred);
  ASSERT_EQ(plan.status, 200) << plan.body;
  auto p = plan.json();
  EXPECT_EQ(p["disk"], "/dev/vda");
  EXPECT_EQ(p["image"]["sha256"], std::string(64, 'a'));
  EXPECT_EQ(p["image"]["size"], 4096);
  EXPECT_EQ(p["image"]["url"], app_->http() + "/assets/os/disk");
  auto cc = apiCall("GET", "/v1/agent/cloud-config", cred);
  ASSERT_EQ(cc.status, 200);
  EXPECT_EQ(cc.body, "#cloud-config\nhostname: node-1\n");
  EXPECT_THAT(cc.header("content-type"), HasSubstr("text/cloud-config"));
  auto join = apiCall("GET", "/v1/agent/join", cred);
  ASSERT_EQ(join.status, 200);
  EXPECT_EQ(join.json()["recipe"], "etcd-member");
  // The timeline has the boot phases.
  auto tl = op("GET", "/v1/nodes/node-1/events").json();
  ASSERT_TRUE(tl.is_array());
  std::vector<std::string> phases;
  for (const auto& e : tl) phases.push_back(e.value("phase", ""));
  EXPECT_THAT(phases, ::testing::Contains("script_served"));
  EXPECT_THAT(phases, ::testing::Contains("token_exchanged"));
}

class IgnoreUnknownTest : public ServeTest {
 protected:
  void SetUp() override { start("ignore"); }
};

TEST_F(IgnoreUnknownTest, UnknownMachineIsRefused) {
  const auto s = script(kUnknownMac);
  EXPECT_THAT(s, HasSubstr("not in the inventory"));
  EXPECT_THAT(s, HasSubstr("exit 1"));
  EXPECT_TRUE(tokenOf(s).empty());
  // Known machines are unaffected.
  EXPECT_THAT(script(kMac2), HasSubstr("drover.mode=install"));
}

TEST_F(ServeTest, ScriptWithoutAValidMacIsARefusal) {
  auto r = get("/boot.ipxe?mac=zz:zz");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("no valid MAC"));
}

}  // namespace
}  // namespace drover::server::testing
