// Keys the declaration accepts are keys Drover honours: backends and runtimes that are not
// implemented are refused at validate time, and every relative path is resolved against the
// declaration's folder.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/cluster/config_text.hpp"
#include "tests/images/keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::cluster {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

std::vector<std::string> errorsOf(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& e : loadConfigText(text, "c.yaml", "/").errors) out.push_back(e.str());
  return out;
}

std::string withServerLine(const std::string& line) {
  std::string text = kMinimalConfig;
  text.replace(text.find("networks:"), 0, line + "\n");
  return text;
}

TEST(HonouredKeys, TheEtcdBackendNeedsItsEndpointsAndItsKeysNeedIt) {
  EXPECT_THAT(errorsOf(withServerLine("  state: { backend: etcd }")),
              ElementsAre("c.yaml:3:10: server.state.endpoints: the etcd backend needs its "
                          "endpoints"));
  EXPECT_THAT(errorsOf(withServerLine(
                  "  state: { backend: etcd, endpoints: [\"http://198.51.100.1:2379\"], "
                  "prefix: /site-a, replica_ttl: 5s }")),
              ::testing::IsEmpty());
  EXPECT_THAT(errorsOf(withServerLine("  state: { backend: sqlite, path: /srv/drover/state.db }")),
              ::testing::IsEmpty());
  EXPECT_THAT(
      errorsOf(withServerLine("  state: { endpoints: [\"http://198.51.100.1:2379\"] }")),
      ElementsAre("c.yaml:3:23: server.state.endpoints: only meaningful with backend: etcd"));
  EXPECT_THAT(
      errorsOf(withServerLine(
          "  state: { backend: etcd, endpoints: [\"198.51.100.1:2379\"], prefix: drover/, "
          "replica_ttl: 1s }")),
      ElementsAre("c.yaml:3:10: server.state.prefix: starts with / and does not end with one: "
                  "/drover",
                  "c.yaml:3:10: server.state.replica_ttl: between 2s and 60s",
                  "c.yaml:3:38: server.state.endpoints: \"198.51.100.1:2379\" is not an etcd "
                  "client URL (http://host:port or https://...)"));
}

TEST(HonouredKeys, DhcpDiscoverLimitsAreWholeNumbersInRange) {
  auto loaded = loadConfigText(
      withServerLine("  dhcp: { client_discover_rate: 0, client_discover_burst: 3, "
                     "interface_discover_rate: 250, interface_discover_burst: 800 }"),
      "c.yaml", "/");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
  const auto& d = loaded.config->server.dhcp;
  EXPECT_EQ(d.client_discover_rate, 0u);
  EXPECT_EQ(d.client_discover_burst, 3u);
  EXPECT_EQ(d.interface_discover_rate, 250u);
  EXPECT_EQ(d.interface_discover_burst, 800u);
  EXPECT_THAT(
      errorsOf(withServerLine("  dhcp: { client_discover_burst: 0, interface_discover_rate: -1, "
                              "interface_discover_burst: 2000000, client_discover_rate: 1.5 }")),
      ElementsAre(
          "c.yaml:3:34: server.dhcp.client_discover_burst: \"0\" is not a whole number from 1 "
          "to 1000000",
          "c.yaml:3:62: server.dhcp.interface_discover_rate: \"-1\" is not a whole number from 0 "
          "to 1000000",
          "c.yaml:3:92: server.dhcp.interface_discover_burst: \"2000000\" is not a whole number "
          "from 1 to 1000000",
          "c.yaml:3:123: server.dhcp.client_discover_rate: \"1.5\" is not a whole number from 0 "
          "to 1000000"));
  EXPECT_THAT(errorsOf(withServerLine("  dhcp: { discover_rate: 5 }")), ::testing::SizeIs(1));
}

TEST(HonouredKeys, TheHandoffDeadlineIsADurationFromOneSecondToADay) {
  auto loaded = loadConfigText(withServerLine("  boot: { handoff_deadline: 90s }"), "c.yaml", "/");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
  EXPECT_EQ(loaded.config->server.boot.handoff_deadline, std::chrono::seconds(90));
  auto defaults = loadConfigText(kMinimalConfig, "c.yaml", "/");
  ASSERT_TRUE(defaults.config);
  EXPECT_EQ(defaults.config->server.boot.handoff_deadline, std::chrono::minutes(5));
  EXPECT_THAT(errorsOf(withServerLine("  boot: { handoff_deadline: 0s }")),
              ElementsAre("c.yaml:3:29: server.boot.handoff_deadline: must be longer than 0s"));
  EXPECT_THAT(errorsOf(withServerLine("  boot: { handoff_deadline: 25h }")),
              ElementsAre("c.yaml:3:29: server.boot.handoff_deadline: between 1s and 24h"));
  EXPECT_THAT(errorsOf(withServerLine("  boot: { handoff_deadline: soon }")), ::testing::SizeIs(1));
}

TEST(HonouredKeys, OnlyTheRuntimeTheAgentStartsIsAccepted) {
  std::string text = kMinimalConfig;
  text.replace(text.find("defaults:"), 0, "    join: { runtime: cri-o }\n");
  EXPECT_THAT(errorsOf(text),
              ElementsAre("c.yaml:15:22: profiles.os.join.runtime: \"cri-o\" is not one of: "
                          "containerd"));
  text.replace(text.find("cri-o"), 5, "docker");
  EXPECT_THAT(errorsOf(text),
              ElementsAre("c.yaml:15:22: profiles.os.join.runtime: \"docker\" is not one of: "
                          "containerd"));
}

// A declaration that names every kind of path relatively.
constexpr const char* kRelative = R"(server:
  advertise: 192.0.2.1
  tftp: { root: tftp }
  api: { cert: tls/api.crt, key: ./tls/api.key }
  state: { path: state/drover.db }
networks:
  - name: lan
    subnet: 192.0.2.0/24
images:
  boot-env:
    kernel: { path: images/vmlinuz }
    initrd: { path: images/initrd.img, signature: { path: images/initrd.img.sig, key: release } }
  os:
    disk: { path: ../shared-images/os.raw }
trust:
  keys:
    release: keys/release.pub
profiles:
  os:
    install: { image: os }
    cloud_config: templates/os.yaml.mustache
defaults:
  profile: os
)";

TEST(HonouredKeys, RelativePathsAreResolvedAgainstTheDeclarationsFolder) {
  test::TempDir tmp("relative-paths");
  const auto site = tmp.path() / "site";
  test::writeFile(site / "cluster.yaml", kRelative);
  test::writeFile(site / "templates/os.yaml.mustache", "#cloud-config\n");
  fs::create_directories(site / "keys");
  ASSERT_TRUE(test::makeKeyPair(site / "keys", "release", "ec"));  // the trust check loads it
  // The folder moved elsewhere: its paths follow it.
  const auto moved = tmp.path() / "elsewhere/site";
  fs::create_directories(moved.parent_path());
  fs::copy(site, moved, fs::copy_options::recursive);
  fs::remove_all(site);

  auto r = loadConfigFile((moved / "cluster.yaml").string());
  ASSERT_TRUE(r.ok()) << r.errors.front().str();
  const auto& c = *r.config;
  const auto at = [&](const std::string& rel) { return (moved / rel).lexically_normal().string(); };
  EXPECT_EQ(c.base_dir, moved);
  EXPECT_EQ(c.server.tftp.root, at("tftp"));
  EXPECT_EQ(c.server.api.cert, at("tls/api.crt"));
  EXPECT_EQ(c.server.api.key, at("tls/api.key"));
  EXPECT_EQ(c.server.state.path, at("state/drover.db"));
  EXPECT_EQ(c.images.at("boot-env").kernel->path, at("images/vmlinuz"));
  EXPECT_EQ(c.images.at("boot-env").initrd->signature->path, at("images/initrd.img.sig"));
  EXPECT_EQ(c.images.at("os").disk->path, (tmp.path() / "elsewhere/shared-images/os.raw").string());
  EXPECT_EQ(c.trust.keys.at("release").value, at("keys/release.pub"));
  EXPECT_EQ(c.profiles.at("os").cloud_config_file, at("templates/os.yaml.mustache"));
  EXPECT_EQ(c.profiles.at("os").cloud_config->value,
            "templates/os.yaml.mustache");  // as written, for messages
  // Absolute paths and the defaults are kept as they are.
  EXPECT_EQ(c.profiles.at("os").join.image, "/var/lib/drover/images/etcd.oci.tar");
}

}  // namespace
}  // namespace drover::cluster
