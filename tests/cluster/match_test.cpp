#include "cluster/inventory.hpp"

#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/cluster/config_text.hpp"

namespace drover::cluster {
namespace {

MacAddress mac(std::string_view text) {
  return *MacAddress::parse(text);
}
Uuid uuid(std::string_view text) {
  return *Uuid::parse(text);
}

class MatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = loadConfigText(kFullConfig, "c.yaml", ".");
    ASSERT_TRUE(r.ok());
    config_ = r.config;
    inv_ = Inventory::build(config_);
  }
  std::shared_ptr<const Config> config_;
  Inventory inv_;
};

TEST_F(MatchTest, ByMacInAnyWrittenForm) {
  for (auto text : {"52:54:00:12:34:56", "52-54-00-12-34-56", "5254.0012.3456", "525400123456",
                    "52:54:00:12:34:56"}) {
    auto m = inv_.match(mac(text), std::nullopt);
    ASSERT_TRUE(m.known()) << text;
    EXPECT_EQ(m.node->name.value, "master-1");
    EXPECT_EQ(m.by, MatchedBy::Mac);
    ASSERT_NE(m.profile, nullptr);
    EXPECT_EQ(m.profile->name, "master");
  }
}

TEST_F(MatchTest, AnyOfSeveralMacs) {
  EXPECT_EQ(inv_.match(mac("52:54:00:12:34:57"), std::nullopt).node->name.value, "worker-1");
  EXPECT_EQ(inv_.match(mac("52:54:00:12:35:57"), std::nullopt).node->name.value, "worker-1");
}

TEST_F(MatchTest, MacWinsOverUuid) {
  auto m = inv_.match(mac("52:54:00:12:34:56"), uuid("8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162"));
  EXPECT_EQ(m.node->name.value, "master-1");
  EXPECT_EQ(m.by, MatchedBy::Mac);
}

TEST_F(MatchTest, UuidWhenTheMacIsUnknown) {
  auto m = inv_.match(mac("52:54:00:00:00:99"), uuid("8A6B0C3E-2F1D-4C5E-9A7B-1D2E3F405162"));
  ASSERT_TRUE(m.known());
  EXPECT_EQ(m.node->name.value, "worker-2");
  EXPECT_EQ(m.by, MatchedBy::Uuid);
}

TEST_F(MatchTest, UuidInSmbiosByteOrderAlsoMatches) {
  // The first three fields as little-endian SMBIOS bytes, as some PXE ROMs send them.
  auto m = inv_.match(mac("52:54:00:00:00:99"), uuid("3e0c6b8a-1d2f-5e4c-9a7b-1d2e3f405162"));
  ASSERT_TRUE(m.known());
  EXPECT_EQ(m.node->name.value, "worker-2");
  EXPECT_EQ(swapUuidByteOrder(uuid("3e0c6b8a-1d2f-5e4c-9a7b-1d2e3f405162")).str(),
            "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162");
}

TEST_F(MatchTest, UnknownMachineGetsDefaultsUnknown) {
  auto m = inv_.match(mac("52:54:00:aa:bb:cc"), uuid("00000000-0000-0000-0000-000000000001"));
  EXPECT_FALSE(m.known());
  EXPECT_EQ(m.by, MatchedBy::None);
  EXPECT_EQ(m.policy, UnknownPolicy::Discover);
  EXPECT_EQ(m.profile, nullptr);
}

TEST_F(MatchTest, NilUuidsNeverMatch) {
  auto cfg = std::make_shared<Config>(*config_);
  cfg->nodes[2].uuid->value = Uuid();  // a node that somehow holds the nil UUID
  auto inv = Inventory::build(cfg);
  EXPECT_FALSE(inv.match(mac("52:54:00:aa:bb:cc"), Uuid()).known());
  EXPECT_FALSE(
      inv.match(mac("52:54:00:aa:bb:cc"), uuid("ffffffff-ffff-ffff-ffff-ffffffffffff")).known());
}

TEST_F(MatchTest, UnknownInstallUsesDefaultsProfile) {
  auto cfg = std::make_shared<Config>(*config_);
  cfg->defaults.unknown = UnknownPolicy::Install;
  cfg->defaults.profile = Located<std::string>{"worker", {}, "defaults.profile"};
  auto inv = Inventory::build(cfg);
  auto m = inv.match(mac("52:54:00:aa:bb:cc"), std::nullopt);
  EXPECT_FALSE(m.known());
  EXPECT_EQ(m.policy, UnknownPolicy::Install);
  ASSERT_NE(m.profile, nullptr);
  EXPECT_EQ(m.profile->name, "worker");
}

TEST_F(MatchTest, NetworkForAddress) {
  ASSERT_NE(inv_.networkFor(*Ipv4Address::parse("192.0.2.77")), nullptr);
  EXPECT_EQ(inv_.networkFor(*Ipv4Address::parse("192.0.2.77"))->name.value, "rack1");
  EXPECT_EQ(inv_.networkFor(*Ipv4Address::parse("198.51.100.1"))->name.value, "site");
  EXPECT_EQ(inv_.networkFor(*Ipv4Address::parse("203.0.113.1")), nullptr);
}

TEST_F(MatchTest, FindNodeByName) {
  ASSERT_NE(inv_.findNode("worker-2"), nullptr);
  EXPECT_EQ(inv_.findNode("worker-2")->uuid->value.str(), "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162");
  EXPECT_EQ(inv_.findNode("nope"), nullptr);
}

TEST_F(MatchTest, CopiesShareTheConfig) {
  Inventory copy = inv_;
  inv_ = Inventory::build(config_);
  EXPECT_EQ(copy.match(mac("52:54:00:12:34:56"), std::nullopt).node->name.value, "master-1");
}

}  // namespace
}  // namespace drover::cluster
