// The cross-field pass, one check at a time, including what it must accept.
// tests/testdata/bad-configs holds one broken file per check with its exact message.
#include "cluster/checks.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/cluster/config_text.hpp"

namespace drover::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kHead = std::string(R"(server:
  advertise: 192.0.2.1
)") + kTestImages + R"(profiles:
  p:
    install: { image: os }
defaults:
  profile: p
)";

// Decodes kHead + `rest` (which must parse), runs only the cross-field pass.
std::vector<std::string> check(const std::string& rest) {
  Diagnostics decode_errors;
  auto config = decodeConfig(kHead + rest, "c.yaml", ".", decode_errors);
  EXPECT_THAT(decode_errors, IsEmpty());
  Diagnostics out;
  checkConfig(config, out);
  std::vector<std::string> messages;
  for (const auto& d : out) messages.push_back(d.path + ": " + d.message);
  return messages;
}

constexpr const char* kLan = R"(networks:
  - name: lan
    subnet: 192.0.2.0/24
    pool: 192.0.2.100-192.0.2.199
    gateway: 192.0.2.1
)";

TEST(Checks, CleanConfigPasses) {
  EXPECT_THAT(
      check(std::string(kLan) + "nodes:\n  - {name: a, mac: 52:54:00:00:00:01, ip: 192.0.2.10}\n"),
      IsEmpty());
}

TEST(Checks, DuplicateMacIsFoundWhateverTheWrittenForm) {
  EXPECT_THAT(check(std::string(kLan) + R"(nodes:
  - {name: a, mac: 52:54:00:AA:00:01}
  - {name: b, macs: [52-54-00-aa-00-02, 5254.00aa.0001]}
)"),
              ElementsAre("nodes[1].macs[1]: duplicate MAC 52:54:00:aa:00:01 (first at "
                          "nodes[0].mac, line 20)"));
}

TEST(Checks, UuidOnlyNodeNeedsNoMacAndNoIp) {
  EXPECT_THAT(check(std::string(kLan) +
                    "nodes:\n  - {name: a, uuid: 8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162}\n"),
              IsEmpty());
}

TEST(Checks, NodeWithoutSelectorOrProfileIsReported) {
  auto rest = std::string(kLan) + "nodes:\n  - {name: a, profile: q}\n";
  EXPECT_THAT(check(rest), ElementsAre("nodes[0]: a node needs mac, macs or uuid to be recognised",
                                       "nodes[0].profile: profile \"q\" does not exist"));
}

TEST(Checks, AdjacentPoolsDoNotOverlap) {
  EXPECT_THAT(check(R"(networks:
  - name: lan
    subnet: 192.0.2.0/24
    pool: [192.0.2.100-192.0.2.149, 192.0.2.150-192.0.2.199]
)"),
              IsEmpty());
  EXPECT_THAT(check(R"(networks:
  - name: lan
    subnet: 192.0.2.0/24
    pool: [192.0.2.100-192.0.2.150, 192.0.2.150-192.0.2.199]
)"),
              ElementsAre("networks[0].pool[1]: pool 192.0.2.150-192.0.2.199 overlaps pool "
                          "192.0.2.100-192.0.2.150 (first at networks[0].pool[0], line 17)"));
}

TEST(Checks, PointToPointSubnetsHaveNoNetworkOrBroadcastAddress) {
  EXPECT_THAT(check(R"(networks:
  - name: p2p
    subnet: 203.0.113.0/31
    pool: 203.0.113.0-203.0.113.1
)"),
              IsEmpty());
}

TEST(Checks, ReservationOnAProxyNetworkIsAllowed) {
  EXPECT_THAT(check(R"(networks:
  - name: site
    subnet: 198.51.100.0/24
    mode: proxy
nodes:
  - {name: a, mac: 52:54:00:00:00:01, ip: 198.51.100.7}
)"),
              IsEmpty());
}

TEST(Checks, NodeIpIsMatchedToTheNetworkThatHoldsIt) {
  // 198.51.100.150 is inside rack1's pool range numerically only if pools were global.
  EXPECT_THAT(check(std::string(kLan) + R"(  - name: rack2
    subnet: 198.51.100.0/24
    pool: 198.51.100.100-198.51.100.199
nodes:
  - {name: a, mac: 52:54:00:00:00:01, ip: 198.51.100.150}
  - {name: b, mac: 52:54:00:00:00:02, ip: 198.51.100.20}
)"),
              ElementsAre("nodes[0].ip: 198.51.100.150 is inside the dynamic pool "
                          "198.51.100.100-198.51.100.199 of networks[1]; a node's address must "
                          "be outside the pools"));
}

TEST(Checks, BootEnvironmentIsNotNeededWhenNothingBoots) {
  Diagnostics decode_errors;
  auto config = decodeConfig(R"(server: {advertise: 192.0.2.1}
networks: [{name: lan, subnet: 192.0.2.0/24}]
defaults: {unknown: ignore}
)",
                             "c.yaml", ".", decode_errors);
  ASSERT_THAT(decode_errors, IsEmpty());
  Diagnostics out;
  checkConfig(config, out);
  EXPECT_THAT(out, IsEmpty());
  config.defaults.unknown = UnknownPolicy::Discover;
  checkConfig(config, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].str(),
            "c.yaml: defaults.boot_env: boot environment image \"boot-env\" does not exist");
}

TEST(Checks, TemplatePathsAreRelativeToTheConfigDirectory) {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  const std::filesystem::path root = src ? src : ".";
  const std::string text = kHead + std::string(kLan) + "  # template\n";
  std::string with_template = text;
  with_template.replace(
      with_template.find("    install: { image: os }\n"),
      std::string("    install: { image: os }\n").size(),
      "    install: { image: os }\n    cloud_config: templates/worker.yaml.mustache\n");
  EXPECT_TRUE(loadConfigText(with_template, "c.yaml", root / "configs").ok());
  EXPECT_FALSE(loadConfigText(with_template, "c.yaml", root).ok());
}

}  // namespace
}  // namespace drover::cluster
