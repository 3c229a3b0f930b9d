#include "boot/server_configs.hpp"

#include "tests/boot/fixture.hpp"

namespace drover::boot {
namespace {

TEST(ServerConfigs, DhcpNetworksComeFromTheDeclaration) {
  testing::FixedSource source;
  auto cfg = dhcpConfigFrom(source.current()->inventory.config());
  EXPECT_EQ(cfg.server_address.str(), "192.0.2.1");
  ASSERT_EQ(cfg.interfaces.size(), 1u);
  EXPECT_EQ(cfg.interfaces[0], "br0");
  ASSERT_EQ(cfg.networks.size(), 2u);
  const auto& rack1 = cfg.networks[0];
  EXPECT_EQ(rack1.name, "rack1");
  EXPECT_EQ(rack1.subnet.str(), "192.0.2.0/24");
  EXPECT_EQ(rack1.mode, dhcp::NetworkConfig::Mode::Dhcp);
  ASSERT_EQ(rack1.pools.size(), 1u);
  EXPECT_EQ(rack1.pools[0].str(), "192.0.2.100-192.0.2.199");
  ASSERT_TRUE(rack1.gateway);
  EXPECT_EQ(rack1.gateway->str(), "192.0.2.1");
  EXPECT_EQ(rack1.domain, "lab.example");
  EXPECT_EQ(rack1.lease, std::chrono::hours(1));
  EXPECT_EQ(cfg.networks[1].mode, dhcp::NetworkConfig::Mode::Proxy);
  EXPECT_TRUE(cfg.networks[1].pools.empty());
}

TEST(ServerConfigs, EveryDeclaredPoolIsPassedInOrder) {
  auto yaml = testing::clusterYaml();
  const std::string one = "pool: 192.0.2.100-192.0.2.199";
  yaml.replace(yaml.find(one), one.size(), "pool: [192.0.2.150-192.0.2.159, 192.0.2.100-192.0.2.109]");
  auto loaded = cluster::loadConfigText(yaml, "cluster.yaml", "/");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
  auto cfg = dhcpConfigFrom(*loaded.config);
  ASSERT_EQ(cfg.networks[0].pools.size(), 2u);
  EXPECT_EQ(cfg.networks[0].pools[0].str(), "192.0.2.150-192.0.2.159");
  EXPECT_EQ(cfg.networks[0].pools[1].str(), "192.0.2.100-192.0.2.109");
}

TEST(ServerConfigs, AlwaysSendCodesComeFromTheDeclaration) {
  auto yaml = testing::clusterYaml();
  const std::string one = "pool: 192.0.2.100-192.0.2.199";
  yaml.replace(yaml.find(one), one.size(), one + "\n    always_send: [3, 6, 42]");
  auto loaded = cluster::loadConfigText(yaml, "cluster.yaml", "/");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
  auto cfg = dhcpConfigFrom(*loaded.config);
  EXPECT_EQ(cfg.networks[0].always_send, (std::vector<std::uint8_t>{3, 6, 42}));
  EXPECT_TRUE(cfg.networks[1].always_send.empty());
}

TEST(ServerConfigs, DiscoverLimitsComeFromTheDeclaration) {
  testing::FixedSource source;
  const auto defaults = dhcpConfigFrom(source.current()->inventory.config()).discover_limits;
  const dhcp::DiscoverLimits engine_defaults;
  EXPECT_EQ(defaults.client_rate, engine_defaults.client_rate);
  EXPECT_EQ(defaults.client_burst, engine_defaults.client_burst);
  EXPECT_EQ(defaults.interface_rate, engine_defaults.interface_rate);
  EXPECT_EQ(defaults.interface_burst, engine_defaults.interface_burst);
  auto yaml = testing::clusterYaml();
  const std::string at = "networks:";
  yaml.replace(yaml.find(at), 0,
               "  dhcp: { client_discover_rate: 4, client_discover_burst: 6, "
               "interface_discover_rate: 0, interface_discover_burst: 9 }\n");
  auto loaded = cluster::loadConfigText(yaml, "cluster.yaml", "/");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
  const auto limits = dhcpConfigFrom(*loaded.config).discover_limits;
  EXPECT_EQ(limits.client_rate, 4u);
  EXPECT_EQ(limits.client_burst, 6u);
  EXPECT_EQ(limits.interface_rate, 0u);
  EXPECT_EQ(limits.interface_burst, 9u);
}

TEST(ServerConfigs, TftpRootListenAndIpxeSearchPath) {
  testing::FixedSource source;
  auto cfg = tftpConfigFrom(source.current()->inventory.config());
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->root, "/srv/tftp");
  EXPECT_EQ(cfg->listen.port(), 69);
  EXPECT_TRUE(cfg->listen.address().is_unspecified());
  ASSERT_EQ(cfg->search_path.size(), 1u);
  EXPECT_EQ(cfg->search_path[0], "/usr/lib/ipxe");
}

}  // namespace
}  // namespace drover::boot
