#include "cli/explain.hpp"

#include <algorithm>
#include <sstream>

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/commands.hpp"
#include "cluster/loader.hpp"
#include "tests/boot/fixture.hpp"

namespace drover::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string sourceDir() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return src ? src : ".";
}

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = cluster::loadConfigFile(sourceDir() + "/configs/cluster.yaml");
    ASSERT_TRUE(r.ok());
    inv_ = cluster::Inventory::build(r.config);
  }
  std::string run(std::string_view mac, std::optional<std::string_view> uuid, std::string_view arch,
                  bool ipxe = false) {
    auto q = query(mac, arch, ipxe);
    if (uuid) q.uuid = *Uuid::parse(*uuid);
    return renderText(inv_.config(), explain(inv_, q));
  }
  ExplainQuery query(std::string_view mac, std::string_view arch, bool ipxe = false) {
    ExplainQuery q;
    q.mac = *MacAddress::parse(mac);
    q.arch = boot::findArchitecture(arch);
    EXPECT_NE(q.arch, nullptr) << arch;
    q.ipxe = ipxe;
    return q;
  }
  std::string dhcpText(const ExplainQuery& q) { return renderDhcpText(explainDhcp(inv_, q)); }
  ScriptAnswer script(const ExplainQuery& q) {
    return explainScript(inv_.config(), explain(inv_, q), "sha256:" + std::string(64, 'c'));
  }
  cluster::Inventory inv_;
};

TEST_F(ExplainTest, KnownNodeByMac) {
  EXPECT_EQ(
      run("52:54:00:12:34:56", std::nullopt, "bios"),
      "machine  mac 52:54:00:12:34:56, uuid -, arch bios (x86 BIOS, option 93 code 0), state no "
      "record\n"
      "match    node master-1 (by mac), profile master\n"
      "network  rack1 192.0.2.0/24 (dhcp), found by node ip\n"
      "address  192.0.2.10 (reserved), lease 1h\n"
      "boot     TFTP undionly.kpxe from 192.0.2.1\n"
      "script   install: install image debian-12 on /dev/sda: boot boot-env (kernel + initrd), "
      "agent installs; kernel args: console=ttyS0\n"
      "reason   node is not installed yet (no record): install profile master\n");
}

TEST_F(ExplainTest, KnownNodeByUuidOnTheRelayedNetwork) {
  auto text = run("52:54:00:00:00:99", "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162", "efi-x64");
  EXPECT_THAT(text, HasSubstr("match    node worker-2 (by uuid), profile worker\n"));
  EXPECT_THAT(text, HasSubstr("network  rack2 198.51.100.0/24 (dhcp), found by node ip\n"));
  EXPECT_THAT(text, HasSubstr("boot     TFTP snponly.efi from 192.0.2.1"));
}

TEST_F(ExplainTest, UnknownMachine) {
  auto text = run("52:54:00:aa:bb:cc", std::nullopt, "bios");
  EXPECT_THAT(text,
              HasSubstr("match    unknown machine (by none): defaults.unknown is discover\n"));
  EXPECT_THAT(text, HasSubstr("script   discover: boot boot-env"));
}

TEST_F(ExplainTest, IpxeClientIsSentToTheScript) {
  auto text = run("52:54:00:12:34:57", std::nullopt, "efi-x64", true);
  EXPECT_THAT(text, HasSubstr("boot     HTTP http://192.0.2.1:8080/boot.ipxe"));
}

TEST_F(ExplainTest, UnknownMachineViaRelayGetsThatNetworksPool) {
  ExplainQuery q;
  q.mac = *MacAddress::parse("52:54:00:aa:bb:cc");
  q.via = *Ipv4Address::parse("198.51.100.1");
  auto e = explain(inv_, q);
  ASSERT_NE(e.network.network, nullptr);
  EXPECT_EQ(e.network.network->name.value, "rack2");
  EXPECT_EQ(e.network.address, "from pool 198.51.100.100-198.51.100.199, lease 1h");
}

// The whole DHCP answer (the real engine and boot policy) and the iPXE script.
std::string optionLine(int code, std::string_view name, std::string_view value) {
  return fmt::format("option {:>3} {:<26} {}\n", code, name, value);
}

TEST_F(ExplainTest, ReservedBiosMachineGetsItsAddressAndTheBiosLoader) {
  auto a = explainDhcp(inv_, query("52:54:00:12:34:56", "bios"));
  ASSERT_TRUE(a.answered) << a.why;
  EXPECT_FALSE(a.proxy);
  EXPECT_EQ(a.exchange, (std::vector<std::string>{"DISCOVER -> OFFER", "REQUEST -> ACK"}));
  EXPECT_EQ(a.server_id.str(), "192.0.2.1");
  EXPECT_EQ(a.yiaddr.str(), "192.0.2.10");
  EXPECT_EQ(a.siaddr.str(), "192.0.2.1");
  EXPECT_EQ(a.file, "undionly.kpxe");
  const auto text = renderDhcpText(a);
  EXPECT_THAT(
      text,
      HasSubstr("dhcp     DISCOVER -> OFFER, REQUEST -> ACK from server 192.0.2.1 (full DHCP)\n"));
  EXPECT_THAT(text, HasSubstr("yiaddr 192.0.2.10  siaddr 192.0.2.1  file undionly.kpxe\n"));
  EXPECT_THAT(text, HasSubstr(optionLine(53, "dhcp-message-type", "5")));
  EXPECT_THAT(text, HasSubstr(optionLine(54, "dhcp-server-identifier", "192.0.2.1")));
  EXPECT_THAT(text, HasSubstr(optionLine(51, "dhcp-lease-time", "3600")));
  EXPECT_THAT(text, HasSubstr(optionLine(3, "routers", "192.0.2.1")));
  EXPECT_THAT(text, HasSubstr(optionLine(66, "tftp-server-name", "\"192.0.2.1\"")));
  EXPECT_THAT(text, HasSubstr(optionLine(67, "boot-file-name", "\"undionly.kpxe\"")));
  EXPECT_THAT(text, Not(HasSubstr("vendor-class-identifier")));
}

TEST_F(ExplainTest, IpxeGetsTheScriptUrlAndNoPxeDhcp) {
  const auto text = dhcpText(query("52:54:00:12:34:57", "efi-x64", true));
  EXPECT_THAT(text,
              HasSubstr(optionLine(67, "boot-file-name", "\"http://192.0.2.1:8080/boot.ipxe\"")));
  EXPECT_THAT(text, HasSubstr(optionLine(175, "ipxe-encap-opts", "no-pxedhcp=1")));
}

TEST_F(ExplainTest, UefiHttpBootGetsAUrlAndHttpClient) {
  auto q = query("52:54:00:12:34:56", "http-x64");
  const auto text = dhcpText(q);
  EXPECT_THAT(text, HasSubstr("file http://192.0.2.1:8080/ipxe.efi\n"));
  EXPECT_THAT(text, HasSubstr(optionLine(60, "vendor-class-identifier", "\"HTTPClient\"")));
}

TEST_F(ExplainTest, UnknownMachineNeedsTheNetworkItArrivesOn) {
  auto q = query("52:54:00:aa:bb:cc", "bios");
  EXPECT_THAT(dhcpText(q), HasSubstr("dhcp     no answer: depends on the network"));
  q.via = *Ipv4Address::parse("198.51.100.1");
  auto a = explainDhcp(inv_, q);
  ASSERT_TRUE(a.answered) << a.why;
  EXPECT_EQ(a.yiaddr.str(), "198.51.100.100");
}

TEST(ExplainDhcpProxy, ProxyNetworkAddsBootInformationOnly) {
  auto loaded = cluster::loadConfigText(boot::testing::clusterYaml(), "cluster.yaml", "/");
  ASSERT_TRUE(loaded.config);
  auto inv = cluster::Inventory::build(loaded.config);
  ExplainQuery q;
  q.mac = *MacAddress::parse("52:54:00:aa:bb:cc");
  q.arch = boot::findArchitecture("efi-x64");
  q.via = *Ipv4Address::parse("198.51.100.1");
  auto a = explainDhcp(inv, q);
  ASSERT_TRUE(a.answered) << a.why;
  EXPECT_TRUE(a.proxy);
  EXPECT_EQ(a.exchange,
            (std::vector<std::string>{"DISCOVER -> OFFER", "REQUEST -> ACK (port 4011)"}));
  EXPECT_TRUE(a.yiaddr.isUnspecified());
  EXPECT_EQ(a.file, "ipxe.efi");
  const auto text = renderDhcpText(a);
  EXPECT_THAT(text, HasSubstr("(proxyDHCP: boot information only"));
  EXPECT_THAT(text, HasSubstr(optionLine(60, "vendor-class-identifier", "\"PXEClient\"")));
  EXPECT_THAT(text, HasSubstr(optionLine(43, "vendor-encapsulated-options", "6=8")));
  EXPECT_THAT(text, Not(HasSubstr("dhcp-lease-time")));
}

TEST_F(ExplainTest, InstallScriptWithTheTokenShownAsAPlaceholder) {
  auto s = script(query("52:54:00:12:34:56", "bios"));
  EXPECT_EQ(s.kind, "install");
  EXPECT_EQ(
      s.url,
      "http://192.0.2.1:8080/boot.ipxe?mac=52:54:00:12:34:56&uuid=&arch=i386&platform=pcbios");
  EXPECT_THAT(s.text, HasSubstr("#!ipxe"));
  EXPECT_THAT(
      s.text,
      HasSubstr(
          "kernel http://192.0.2.1:8080/assets/boot-env/kernel drover.api=https://192.0.2.1:8443 "
          "drover.ca=sha256:" +
          std::string(64, 'c') + " drover.token=<token> drover.node=master-1"));
  EXPECT_THAT(s.text, HasSubstr("console=ttyS0"));  // the profile's kernel args
  EXPECT_THAT(s.text, Not(HasSubstr("initrd=initrd.img")));
  auto efi = script(query("52:54:00:12:34:56", "efi-x64"));
  EXPECT_THAT(efi.text, HasSubstr("initrd=initrd.img"));
  EXPECT_THAT(efi.url, HasSubstr("platform=efi"));
  const auto text = renderScriptText(s);
  EXPECT_THAT(text,
              HasSubstr("ipxe     install script for GET http://192.0.2.1:8080/boot.ipxe?mac="));
  EXPECT_THAT(text, HasSubstr("\n         #!ipxe\n"));
}

TEST_F(ExplainTest, InstalledNodeBootsItsDiskAndUnknownOnesDiscover) {
  auto q = query("52:54:00:12:34:56", "bios");
  q.status = state::NodeStatus{state::NodeState::kInstalled};
  auto local = script(q);
  EXPECT_EQ(local.kind, "local");
  EXPECT_THAT(local.text, HasSubstr("sanboot --no-describe --drive 0x80"));
  EXPECT_THAT(local.text, Not(HasSubstr("<token>")));
  auto unknown = script(query("52:54:00:aa:bb:cc", "bios"));
  EXPECT_EQ(unknown.kind, "discover");
  EXPECT_THAT(unknown.text, HasSubstr("drover.mode=discover"));
  EXPECT_THAT(unknown.text, HasSubstr("drover.token=<token>"));
}

TEST_F(ExplainTest, WithoutAKnownCaTheFingerprintIsAPlaceholder) {
  auto q = query("52:54:00:12:34:56", "bios");
  auto s = explainScript(inv_.config(), explain(inv_, q));
  EXPECT_THAT(s.text, HasSubstr("drover.ca=<ca-fingerprint> drover.token=<token>"));
}

TEST_F(ExplainTest, WithReplicasTheInstallerNamesTheOthersAfterThisServer) {
  auto q = query("52:54:00:12:34:56", "bios");
  auto s = explainScript(inv_.config(), explain(inv_, q), {},
                         {"https://192.0.2.2:8443", "https://192.0.2.3:8443"});
  EXPECT_THAT(s.text, HasSubstr("drover.api=https://192.0.2.1:8443,https://192.0.2.2:8443,"
                                "https://192.0.2.3:8443 drover.ca="));
}

// `drover explain --arch` takes every entry of the architecture table, by name and by
// option 93 code, and prints what the decision returned.
int runExplainCli(std::vector<std::string> args, std::string& out, std::string& err) {
  std::ostringstream o, e;
  Context ctx{o, e};
  CLI::App app;
  addExplainCommand(app, ctx);
  args.insert(args.begin(), "explain");
  std::reverse(args.begin(), args.end());
  app.parse(args);
  out = o.str();
  err = e.str();
  return ctx.exit_code;
}

TEST(ExplainCommand, EveryArchitectureByNameAndCode) {
  const std::string file = sourceDir() + "/configs/cluster.yaml";
  auto loaded = cluster::loadConfigFile(file);
  ASSERT_TRUE(loaded.ok());
  const auto inv = cluster::Inventory::build(loaded.config);
  for (const auto& a : boot::architectures()) {
    for (const std::string& arch : {std::string(a.name), std::to_string(a.code)}) {
      std::string out, err;
      ASSERT_EQ(runExplainCli({file, "--mac", "52:54:00:12:34:56", "--arch", arch}, out, err), 0)
          << arch << err;
      ExplainQuery q;
      q.mac = *MacAddress::parse("52:54:00:12:34:56");
      q.arch = &a;
      const auto d = explain(inv, q).boot;
      EXPECT_THAT(
          out, HasSubstr(fmt::format("arch {} ({}, option 93 code {})", a.name, a.title, a.code)));
      EXPECT_THAT(out, HasSubstr("reason   " + d.reason + "\n")) << arch;
      EXPECT_THAT(out, HasSubstr("script   " + std::string(templates::scriptName(d.script)) + ": "))
          << arch;
      switch (d.delivery) {
        case boot::Delivery::kNone:
          EXPECT_THAT(out, HasSubstr("boot     no boot file\n")) << arch;
          EXPECT_TRUE(a.loader == boot::Loader::kNone || a.loader == boot::Loader::kEfiArm64)
              << arch;
          break;
        case boot::Delivery::kTftp:
          EXPECT_THAT(out, HasSubstr("boot     TFTP " + d.file + " from 192.0.2.1\n")) << arch;
          break;
        case boot::Delivery::kHttp:
          EXPECT_THAT(out, HasSubstr("boot     HTTP " + d.file)) << arch;
          break;
      }
      if (a.loader == boot::Loader::kNone) {
        EXPECT_THAT(out, HasSubstr("unsupported architecture " + std::string(a.title))) << arch;
      }
    }
  }
  std::string out, err;
  EXPECT_EQ(runExplainCli({file, "--mac", "52:54:00:12:34:56", "--arch", "efi"}, out, err), 2);
  EXPECT_THAT(err, HasSubstr("--arch: \"efi\" is none of: bios (0), efi-ia32 (6)"));
}

TEST(ExplainCommand, Arm64HttpBootGetsTheArm64LoaderUrl) {
  const std::string file = sourceDir() + "/configs/cluster.yaml";
  std::string out, err;
  ASSERT_EQ(runExplainCli({file, "--mac", "52:54:00:12:34:56", "--arch", "http-arm64"}, out, err),
            0)
      << err;
  auto loaded = cluster::loadConfigFile(file);
  ASSERT_TRUE(loaded.ok());
  const auto& arm64 = loaded.config->server.boot.arm64_loader;
  if (arm64.empty()) {
    EXPECT_THAT(out, HasSubstr("boot     no boot file\n"));
    EXPECT_THAT(out, HasSubstr("server.boot.arm64_loader"));
  } else {
    EXPECT_THAT(out, HasSubstr("boot     HTTP http://192.0.2.1:8080/" + arm64 +
                               " (reply carries option 60 HTTPClient)\n"));
  }
  EXPECT_THAT(out, Not(HasSubstr("/ipxe.efi")));
}

TEST(ExplainCommand, StateFlagsReachTheDecision) {
  const std::string file = sourceDir() + "/configs/cluster.yaml";
  std::string out, err;
  ASSERT_EQ(
      runExplainCli({file, "--mac", "52:54:00:12:34:56", "--ipxe", "--state", "failed"}, out, err),
      0)
      << err;
  EXPECT_THAT(out, HasSubstr("script   failed: "));
  EXPECT_THAT(out, HasSubstr("ipxe     failed script for GET"));
  ASSERT_EQ(runExplainCli({file, "--mac", "52:54:00:12:34:56", "--state", "joined", "--capture"},
                          out, err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("script   capture: "));
  EXPECT_THAT(out, HasSubstr("drover.mode=capture"));
  EXPECT_EQ(runExplainCli({file, "--mac", "52:54:00:12:34:56", "--reinstall"}, out, err), 2);
  EXPECT_EQ(runExplainCli({file, "--mac", "52:54:00:12:34:56", "--state", "bogus"}, out, err), 2);
}

TEST(ValidateCommand, SummaryLineOrEveryError) {
  std::ostringstream out, err;
  EXPECT_EQ(runValidate(sourceDir() + "/configs/cluster.yaml", out, err), 0);
  EXPECT_THAT(out.str(),
              HasSubstr("cluster.yaml: ok: 2 networks, 2 images, 2 profiles, 3 nodes\n"));
  EXPECT_EQ(err.str(), "");

  std::ostringstream out2, err2;
  const std::string bad = sourceDir() + "/tests/testdata/bad-configs/ip-special.yaml";
  EXPECT_EQ(runValidate(bad, out2, err2), 1);
  EXPECT_EQ(out2.str(), "");
  EXPECT_THAT(err2.str(), HasSubstr("ip-special.yaml:22:9: nodes[0].ip: 192.0.2.1 is the gateway"));
  EXPECT_THAT(err2.str(), HasSubstr("ip-special.yaml: 4 errors\n"));
}

TEST(ValidateCommand, MissingFileIsAClearError) {
  std::ostringstream out, err;
  EXPECT_EQ(runValidate("no/such/cluster.yaml", out, err), 1);
  EXPECT_EQ(err.str(),
            "no/such/cluster.yaml: cannot read the file: No such file or directory\n"
            "no/such/cluster.yaml: 1 error\n");
}

}  // namespace
}  // namespace drover::cli
