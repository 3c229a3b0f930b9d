#include "provisioner/app/explain.hpp"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provisioner/app/commands.hpp"
#include "provisioner/inventory/loader.hpp"

namespace drover::app {
namespace {

using ::testing::HasSubstr;

std::string sourceDir() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return src ? src : ".";
}

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = inventory::loadConfigFile(sourceDir() + "/configs/cluster.yaml");
    ASSERT_TRUE(r.ok());
    inv_ = inventory::Inventory::build(r.config);
  }
  std::string run(std::string_view mac, std::optional<std::string_view> uuid,
                  inventory::ClientArch arch, bool ipxe = false) {
    ExplainQuery q;
    q.mac = *MacAddress::parse(mac);
    if (uuid) q.uuid = *Uuid::parse(*uuid);
    q.request.arch = arch;
    q.request.ipxe = ipxe;
    return renderText(inv_.config(), explain(inv_, q));
  }
  inventory::Inventory inv_;
};

TEST_F(ExplainTest, KnownNodeByMac) {
  EXPECT_EQ(run("52:54:00:12:34:56", std::nullopt, inventory::ClientArch::Bios),
            "machine  mac 52:54:00:12:34:56, uuid -, arch bios\n"
            "match    node master-1 (by mac), profile master\n"
            "network  rack1 192.0.2.0/24 (dhcp), found by node ip\n"
            "address  192.0.2.10 (reserved), lease 1h\n"
            "boot     TFTP undionly.kpxe from 192.0.2.1 (node is not installed yet: install "
            "profile master)\n"
            "script   install image debian-12 on /dev/sda: boot boot-env (kernel + initrd), "
            "agent installs; kernel args: console=ttyS0\n");
}

TEST_F(ExplainTest, KnownNodeByUuidOnTheRelayedNetwork) {
  auto text = run("52:54:00:00:00:99", "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162",
                  inventory::ClientArch::EfiX64);
  EXPECT_THAT(text, HasSubstr("match    node worker-2 (by uuid), profile worker\n"));
  EXPECT_THAT(text, HasSubstr("network  rack2 198.51.100.0/24 (dhcp), found by node ip\n"));
  EXPECT_THAT(text, HasSubstr("boot     TFTP snponly.efi from 192.0.2.1"));
}

TEST_F(ExplainTest, UnknownMachine) {
  auto text = run("52:54:00:aa:bb:cc", std::nullopt, inventory::ClientArch::Bios);
  EXPECT_THAT(text,
              HasSubstr("match    unknown machine (by none): defaults.unknown is discover\n"));
  EXPECT_THAT(text, HasSubstr("script   discovery: boot boot-env"));
}

TEST_F(ExplainTest, IpxeClientIsSentToTheScript) {
  auto text = run("52:54:00:12:34:57", std::nullopt, inventory::ClientArch::EfiX64, true);
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
}  // namespace drover::app
