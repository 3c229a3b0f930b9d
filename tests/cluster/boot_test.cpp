// The boot decision table: firmware x iPXE x node kind -> first file and script action.
#include "cluster/boot.hpp"

#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/cluster/config_text.hpp"

namespace drover::cluster {
namespace {

class BootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = loadConfigText(kFullConfig, "c.yaml", ".");
    ASSERT_TRUE(r.ok());
    config_ = std::make_shared<Config>(*r.config);
  }
  BootDecision decide(std::string_view mac, ClientArch arch, bool ipxe = false,
                      NodeState state = NodeState::New) {
    inv_ = Inventory::build(config_);
    return decideBoot(*config_, inv_.match(*MacAddress::parse(mac), std::nullopt),
                      BootRequest{arch, ipxe, state});
  }
  std::shared_ptr<Config> config_;
  Inventory inv_;
};

constexpr std::string_view kMaster = "52:54:00:12:34:56";  // profile master: default loader
constexpr std::string_view kWorker = "52:54:00:12:34:57";  // profile worker: snponly.efi
constexpr std::string_view kUnknown = "52:54:00:aa:bb:cc";

TEST(ClientArch, FromOption93Codes) {
  EXPECT_EQ(clientArchFromOption93(0), ClientArch::Bios);
  EXPECT_EQ(clientArchFromOption93(7), ClientArch::EfiX64);
  EXPECT_EQ(clientArchFromOption93(9), ClientArch::EfiX64);
  EXPECT_EQ(clientArchFromOption93(11), ClientArch::EfiArm64);
  EXPECT_EQ(clientArchFromOption93(16), ClientArch::HttpX64);
  for (std::uint16_t code : {1, 6, 10, 15, 19, 0xffff}) EXPECT_FALSE(clientArchFromOption93(code));
}

TEST(ClientArch, ParsesAndPrintsNames) {
  for (auto name : {"bios", "efi-x64", "efi-arm64", "http-x64"}) {
    auto a = parseClientArch(name);
    ASSERT_TRUE(a) << name;
    EXPECT_EQ(toString(*a), name);
  }
  EXPECT_EQ(parseClientArch("efi").error().code, "bad_arch");
}

TEST_F(BootTest, LoaderPerFirmware) {
  struct Row {
    std::string_view mac;
    ClientArch arch;
    Delivery delivery;
    std::string file;
  };
  const Row rows[] = {
      {kMaster, ClientArch::Bios, Delivery::Tftp, "undionly.kpxe"},
      {kMaster, ClientArch::EfiX64, Delivery::Tftp, "ipxe.efi"},
      {kWorker, ClientArch::EfiX64, Delivery::Tftp, "snponly.efi"},
      {kWorker, ClientArch::Bios, Delivery::Tftp, "undionly.kpxe"},
      {kMaster, ClientArch::EfiArm64, Delivery::Tftp, "ipxe-arm64.efi"},
      {kMaster, ClientArch::HttpX64, Delivery::Http, "http://192.0.2.1:8080/ipxe.efi"},
      {kWorker, ClientArch::HttpX64, Delivery::Http, "http://192.0.2.1:8080/snponly.efi"},
      {kUnknown, ClientArch::EfiX64, Delivery::Tftp, "ipxe.efi"},
  };
  for (const auto& row : rows) {
    auto d = decide(row.mac, row.arch);
    EXPECT_EQ(d.delivery, row.delivery) << row.mac << " " << toString(row.arch);
    EXPECT_EQ(d.file, row.file) << row.mac << " " << toString(row.arch);
  }
}

TEST_F(BootTest, IpxeClientsGetTheScriptUrlWhateverTheFirmware) {
  for (auto arch :
       {ClientArch::Bios, ClientArch::EfiX64, ClientArch::EfiArm64, ClientArch::HttpX64})
    for (auto mac : {kMaster, kWorker, kUnknown}) {
      auto d = decide(mac, arch, true);
      EXPECT_EQ(d.delivery, Delivery::Http);
      EXPECT_EQ(d.file, "http://192.0.2.1:8080/boot.ipxe");
    }
}

TEST_F(BootTest, ScriptUrlFollowsAdvertiseAndHttpPort) {
  config_->server.advertise = *Ipv4Address::parse("203.0.113.5");
  config_->server.http.listen.port = 80;
  EXPECT_EQ(decide(kMaster, ClientArch::Bios, true).file, "http://203.0.113.5:80/boot.ipxe");
}

TEST_F(BootTest, ArmWithoutConfiguredLoaderGetsNoAnswer) {
  config_->server.boot.arm64_loader.clear();
  auto d = decide(kMaster, ClientArch::EfiArm64);
  EXPECT_EQ(d.delivery, Delivery::None);
  EXPECT_TRUE(d.file.empty());
  EXPECT_NE(d.reason.find("server.boot.arm64_loader"), std::string::npos);
}

TEST_F(BootTest, ScriptActions) {
  auto install = decide(kMaster, ClientArch::Bios);
  EXPECT_EQ(install.action, BootAction::Install);
  ASSERT_NE(install.profile, nullptr);
  EXPECT_EQ(install.profile->name, "master");
  ASSERT_NE(install.boot_env, nullptr);
  EXPECT_EQ(install.boot_env->name, "boot-env");
  EXPECT_EQ(install.kernel_args, std::vector<std::string>{"console=ttyS0"});

  auto local = decide(kMaster, ClientArch::Bios, true, NodeState::Installed);
  EXPECT_EQ(local.action, BootAction::LocalDisk);
  EXPECT_EQ(local.profile, nullptr);

  auto discover = decide(kUnknown, ClientArch::Bios);
  EXPECT_EQ(discover.action, BootAction::Discover);
  ASSERT_NE(discover.boot_env, nullptr);

  config_->defaults.unknown = UnknownPolicy::Ignore;
  auto ignored = decide(kUnknown, ClientArch::Bios);
  EXPECT_EQ(ignored.action, BootAction::Ignore);
  EXPECT_EQ(ignored.delivery, Delivery::None);
  EXPECT_EQ(decide(kUnknown, ClientArch::Bios, true).delivery, Delivery::None);

  config_->defaults.unknown = UnknownPolicy::Install;
  config_->defaults.profile = Located<std::string>{"worker", {}, "defaults.profile"};
  auto auto_install = decide(kUnknown, ClientArch::EfiX64);
  EXPECT_EQ(auto_install.action, BootAction::Install);
  EXPECT_EQ(auto_install.profile->name, "worker");
  EXPECT_EQ(auto_install.file, "snponly.efi");  // the install profile's loader
}

TEST_F(BootTest, ProfileWithoutInstallBootsLocalDisk) {
  config_->profiles.at("master").install.reset();
  EXPECT_EQ(decide(kMaster, ClientArch::Bios).action, BootAction::LocalDisk);
}

}  // namespace
}  // namespace drover::cluster
