#include "cluster/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cluster/config_text.hpp"

namespace drover::cluster {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> messages(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.str());
  return out;
}

TEST(Loader, LoadsTheFullShape) {
  auto r = loadConfigText(kFullConfig, "c.yaml", ".");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.server.advertise.str(), "192.0.2.1");
  EXPECT_EQ(c.server.tftp.listen.port, 69);
  EXPECT_EQ(c.server.http.listen.port, 8080);
  EXPECT_EQ(c.server.boot.arm64_loader, "ipxe-arm64.efi");
  ASSERT_EQ(c.networks.size(), 2u);
  EXPECT_EQ(c.networks[0].name.value, "rack1");
  EXPECT_EQ(c.networks[0].pools.at(0).value.str(), "192.0.2.100-192.0.2.199");
  EXPECT_EQ(c.networks[1].mode, NetworkMode::Proxy);
  EXPECT_EQ(c.networks[0].lease, std::chrono::hours(1));
  ASSERT_NE(c.findImage("debian-12"), nullptr);
  EXPECT_EQ(c.findImage("debian-12")->update.expire, std::chrono::hours(240));
  ASSERT_NE(c.findProfile("worker"), nullptr);
  EXPECT_EQ(c.findProfile("worker")->efi_loader, EfiLoader::SnponlyEfi);
  EXPECT_THAT(c.findProfile("worker")->kernel_args, ElementsAre("console=ttyS0", "quiet"));
  ASSERT_EQ(c.nodes.size(), 3u);
  EXPECT_EQ(c.nodes[0].macs.at(0).value.str(), "52:54:00:12:34:56");
  EXPECT_EQ(c.nodes[0].macs.at(0).path, "nodes[0].mac");
  EXPECT_EQ(c.nodes[0].macs.at(0).pos.line, 44);
  EXPECT_EQ(c.nodes[1].macs.size(), 2u);
  EXPECT_EQ(c.nodes[1].macs.at(1).value.str(), "52:54:00:12:35:57");  // dotted form, normalised
  EXPECT_EQ(c.nodes[1].macs.at(1).path, "nodes[1].macs[1]");
  EXPECT_TRUE(c.nodes[2].uuid.has_value());
  EXPECT_EQ(c.nodes[0].labels.at("rack"), "r1");
  EXPECT_EQ(c.defaults.unknown, UnknownPolicy::Discover);
}

TEST(Loader, DefaultsApplyWhenKeysAreLeftOut) {
  auto r = loadConfigText(kMinimalConfig, "m.yaml", ".");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.server.tftp.listen.str(), "0.0.0.0:69");
  EXPECT_EQ(c.server.tftp.root, "/var/lib/drover/tftp");
  EXPECT_EQ(c.server.http.listen.str(), "0.0.0.0:8080");
  EXPECT_EQ(c.server.api.listen.str(), "0.0.0.0:8443");
  EXPECT_EQ(c.server.state.backend, StateBackend::Sqlite);
  EXPECT_EQ(c.server.boot.bios_loader, "undionly.kpxe");
  EXPECT_EQ(c.server.boot.efi_loader, "ipxe.efi");
  EXPECT_EQ(c.networks[0].mode, NetworkMode::Dhcp);
  EXPECT_EQ(c.defaults.boot_env.value, "boot-env");
  EXPECT_EQ(c.profileNameOf(c.nodes[0]), "os");  // from defaults.profile
}

TEST(Loader, SyntaxErrorHasLineAndColumn) {
  auto r = loadConfigText("server:\n  advertise: [192.0.2.1\n", "s.yaml", ".");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].pos.line, 3);
  EXPECT_THAT(r.errors[0].str(), ::testing::StartsWith("s.yaml:3:1: YAML syntax error: "));
}

TEST(Loader, EmptyDocumentIsAnError) {
  EXPECT_THAT(messages(loadConfigText("# nothing\n", "e.yaml", ".")),
              ElementsAre("e.yaml:1:1: the file holds no configuration"));
}

TEST(Loader, RootMustBeAMap) {
  EXPECT_THAT(messages(loadConfigText("- a\n- b\n", "l.yaml", ".")),
              ElementsAre("l.yaml:1:1: expected a map, got a list"));
}

TEST(Loader, MissingFileIsOneErrorWithoutPosition) {
  auto r = loadConfigFile("/nonexistent/drover.yaml");
  EXPECT_THAT(messages(r), ElementsAre("/nonexistent/drover.yaml: cannot read the file: No such "
                                       "file or directory"));
}

TEST(Loader, CollectsEveryErrorNotJustTheFirst) {
  const char* text = R"(server:
  advertise: 192.0.2.300
  bogus: 1
networks:
  - name: n1
    subnet: 192.0.2.0/24
    lease: forever
nodes:
  - name: a
    mac: 52:54:00:zz:00:01
  - name: b
    uuid: nope
    labels: [x]
)";
  EXPECT_THAT(messages(loadConfigText(text, "x.yaml", ".")),
              ElementsAre("x.yaml:2:14: server.advertise: \"192.0.2.300\" is not an IPv4 address",
                          "x.yaml:3:3: server.bogus: unknown key (expected one of: advertise, "
                          "interfaces, tftp, http, api, state, boot, dhcp)",
                          "x.yaml:7:12: networks[0].lease: \"forever\" is not a duration (use "
                          "e.g. 90s, 15m, 1h30m, 10d)",
                          "x.yaml:10:10: nodes[0].mac: \"52:54:00:zz:00:01\" is not a MAC address",
                          "x.yaml:12:11: nodes[1].uuid: \"nope\" is not a UUID",
                          "x.yaml:13:13: nodes[1].labels: expected a map, got a list"));
}

TEST(Loader, WrongTypesAreErrorsNotExceptions) {
  const char* text = R"(server: [1, 2]
networks: {name: x}
nodes: 7
profiles: []
images: "no"
defaults:
  ssh_authorized_keys: {a: b}
)";
  EXPECT_THAT(messages(loadConfigText(text, "t.yaml", ".")),
              ElementsAre("t.yaml:1:9: server: expected a map, got a list",
                          "t.yaml:2:11: networks: expected a list, got a map",
                          "t.yaml:3:8: nodes: expected a list, got a string",
                          "t.yaml:4:11: profiles: expected a map, got a list",
                          "t.yaml:5:9: images: expected a map, got a string",
                          "t.yaml:7:24: defaults.ssh_authorized_keys: expected a list, got a map"));
}

TEST(Loader, DuplicateKeysAreErrors) {
  const char* text = "server:\n  advertise: 192.0.2.1\n  advertise: 192.0.2.2\nnetworks: []\n";
  auto r = loadConfigText(text, "d.yaml", ".");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].str(),
            "d.yaml:3:3: server.advertise: duplicate key (first written at line 2)");
}

}  // namespace
}  // namespace drover::cluster
