// drover init: the starter declaration validates as written (DHCP with a pool, proxyDHCP),
// leaves the host's own address and gateway out of its pool, refuses what it cannot serve,
// and never overwrites a file but the unedited packaged starter, which validates and which
// `drover serve` refuses to start with.
#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include "boot/template_check.hpp"
#include "cli/commands.hpp"
#include "cli/packaged_starter.hpp"
#include "cluster/loader.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::cli {
namespace {

HostAddress host(const char* ip, int prefix, const char* gateway = nullptr) {
  HostAddress h{*Ipv4Address::parse(ip), prefix, std::nullopt};
  if (gateway != nullptr) h.gateway = *Ipv4Address::parse(gateway);
  return h;
}

// Loads the text as `drover validate` and `drover serve` do; returns every error.
std::string problems(const std::string& text, const std::filesystem::path& dir) {
  auto loaded = cluster::loadConfigText(text, (dir / "cluster.yaml").string(), dir);
  std::string out;
  for (const auto& e : loaded.errors) out += e.str() + "\n";
  if (loaded.ok())
    for (const auto& e : boot::checkTemplates(cluster::Inventory::build(loaded.config)))
      out += e.str() + "\n";
  return out;
}

TEST(Init, TheDhcpDeclarationValidatesWithAPoolAwayFromTheHost) {
  test::TempDir dir("drover-init");
  InitOptions o{.interface = "eth0"};
  auto text = starterDeclaration(o, host("192.0.2.1", 24, "192.0.2.254"));
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(problems(*text, dir.path()), "") << *text;
  EXPECT_NE(text->find("advertise: 192.0.2.1 "), std::string::npos) << *text;
  EXPECT_NE(text->find("subnet: 192.0.2.0/24"), std::string::npos) << *text;
  EXPECT_NE(text->find("pool: 192.0.2.128-192.0.2.227"), std::string::npos) << *text;
  EXPECT_NE(text->find("gateway: 192.0.2.254"), std::string::npos) << *text;
  EXPECT_NE(text->find("interfaces: [eth0]"), std::string::npos) << *text;
  EXPECT_NE(text->find("/var/lib/drover/images/boot-env/vmlinuz"), std::string::npos) << *text;
  EXPECT_NE(text->find("path: /var/lib/drover/state.db"), std::string::npos) << *text;
}

TEST(Init, ThePoolLeavesOutTheHostsAddress) {
  test::TempDir dir("drover-init");
  InitOptions o{.interface = "br0"};
  auto text = starterDeclaration(o, host("198.51.100.200", 25));
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(problems(*text, dir.path()), "") << *text;
  EXPECT_NE(text->find("pool: 198.51.100.201-198.51.100.254"), std::string::npos) << *text;
  EXPECT_EQ(text->find("gateway:"), std::string::npos) << *text;
}

TEST(Init, TheProxyDeclarationValidatesWithoutAPool) {
  test::TempDir dir("drover-init");
  InitOptions o{.interface = "eth0", .proxy = true, .state_dir = "/srv/drover"};
  auto text = starterDeclaration(o, host("203.0.113.2", 30));
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(problems(*text, dir.path()), "") << *text;
  EXPECT_NE(text->find("mode: proxy"), std::string::npos) << *text;
  EXPECT_EQ(text->find("pool:"), std::string::npos) << *text;
  EXPECT_NE(text->find("/srv/drover/images/boot-env/initrd.img"), std::string::npos) << *text;
}

TEST(Init, ASubnetWithoutRoomForAPoolIsRefused) {
  InitOptions o{.interface = "eth0"};
  auto text = starterDeclaration(o, host("192.0.2.1", 31));
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, "subnet_too_small");
  EXPECT_NE(text.error().message.find("--proxy"), std::string::npos);
}

TEST(Init, WritesOnceForARealInterfaceAndNeverOverwrites) {
  test::TempDir dir("drover-init");
  const auto file = dir.path() / "etc" / "cluster.yaml";
  InitOptions o{.interface = "lo", .output = file.string()};
  std::ostringstream out, err;
  ASSERT_EQ(runInit(o, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("127.0.0.1/8"), std::string::npos) << out.str();
  const auto written = test::readFile(file);
  EXPECT_EQ(problems(written, file.parent_path()), "") << written;
  // `drover validate` agrees.
  std::ostringstream vout, verr;
  EXPECT_EQ(runValidate(file.string(), vout, verr), 0) << verr.str();

  test::writeFile(file, "mine\n");
  std::ostringstream out2, err2;
  EXPECT_EQ(runInit(o, out2, err2), 1);
  EXPECT_NE(err2.str().find("not overwriting"), std::string::npos) << err2.str();
  EXPECT_EQ(test::readFile(file), "mine\n");
}

TEST(Init, AnUnknownInterfaceIsNamed) {
  test::TempDir dir("drover-init");
  InitOptions o{.interface = "nosuchif0", .output = (dir.path() / "c.yaml").string()};
  std::ostringstream out, err;
  EXPECT_EQ(runInit(o, out, err), 1);
  EXPECT_NE(err.str().find("no interface named \"nosuchif0\""), std::string::npos) << err.str();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "c.yaml"));
}

TEST(Starter, ThePackagedStarterValidatesAndIsTheFileInTheSourceTree) {
  test::TempDir dir("drover-init");
  const std::string starter(packagedStarter());
  EXPECT_EQ(problems(starter, dir.path()), "") << starter;
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  const auto source = std::filesystem::path(src ? src : ".") / "packaging" / "cluster.yaml";
  EXPECT_TRUE(isPackagedStarter(source));
  EXPECT_FALSE(isPackagedStarter(dir.path() / "missing.yaml"));
}

TEST(Starter, InitReplacesTheUneditedStarterOnly) {
  test::TempDir dir("drover-init");
  const auto file = dir.path() / "cluster.yaml";
  InitOptions o{.interface = "lo", .output = file.string()};
  test::writeFile(file, std::string(packagedStarter()));
  std::ostringstream out, err;
  ASSERT_EQ(runInit(o, out, err), 0) << err.str();
  const auto written = test::readFile(file);
  EXPECT_NE(written.find("advertise: 127.0.0.1 "), std::string::npos) << written;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "cluster.yaml.drover-init"));
  EXPECT_FALSE(isPackagedStarter(file));

  // The starter with one edit (a comment added at the end) is the operator's file.
  const std::string edited = std::string(packagedStarter()) + "# mine\n";
  test::writeFile(file, edited);
  std::ostringstream out2, err2;
  EXPECT_EQ(runInit(o, out2, err2), 1);
  EXPECT_NE(err2.str().find("not overwriting"), std::string::npos) << err2.str();
  EXPECT_EQ(test::readFile(file), edited);
}

TEST(Starter, ServeRefusesTheStarterAndSaysWhatToDo) {
  test::TempDir dir("drover-init");
  const auto file = dir.path() / "cluster.yaml";
  test::writeFile(file, std::string(packagedStarter()));
  std::ostringstream out, err;
  Context ctx{out, err};
  CLI::App app;
  addServeCommand(app, ctx);
  app.parse("serve --config " + file.string() + " --state-dir " + dir.path().string(), false);
  EXPECT_EQ(ctx.exit_code, kStarterExitStatus);
  EXPECT_NE(err.str().find("is the packaged starter declaration"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("drover init --interface IF"), std::string::npos) << err.str();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state.db"));
}

}  // namespace
}  // namespace drover::cli
