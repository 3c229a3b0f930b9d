// nodes[].bmc: the shape Drover can power a machine with, and no secrets in the declaration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/cluster/config_text.hpp"

namespace drover::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> errorsOf(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& e : loadConfigText(text, "c.yaml", "/srv").errors) out.push_back(e.str());
  return out;
}

// kMinimalConfig with `bmc` (the map's lines, indented under the first node) added.
std::string withBmc(const std::string& bmc) {
  std::string text = kMinimalConfig;
  const auto node = text.find("  - name: ", text.find("nodes:"));
  const auto eol = text.find('\n', node);
  text.insert(eol + 1, "    bmc:\n" + bmc);
  return text;
}

TEST(BmcKeys, IpmiAndRedfishShapesLoad) {
  auto r = loadConfigText(
      withBmc("      driver: ipmi\n      address: 10.0.0.5:6230\n      credentials: rack-a\n"),
      "c.yaml", "/srv");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errorsOf(withBmc("")));
  const auto& b = r.config->nodes[0].bmc;
  ASSERT_TRUE(b);
  EXPECT_EQ(b->driver, BmcDriver::Ipmi);
  EXPECT_EQ(b->address, "10.0.0.5:6230");
  EXPECT_EQ(b->credentials, "rack-a");
  EXPECT_EQ(b->timeout, std::chrono::seconds(10));

  auto rf =
      loadConfigText(withBmc("      driver: redfish\n      address: https://bmc-1.lab.example\n"
                             "      credentials: rack-a\n      system: System.Embedded.1\n"
                             "      ca_file: bmc-ca.pem\n      timeout: 20s\n"),
                     "c.yaml", "/srv");
  ASSERT_TRUE(rf.ok());
  const auto& f = *rf.config->nodes[0].bmc;
  EXPECT_EQ(f.driver, BmcDriver::Redfish);
  EXPECT_EQ(f.system, "System.Embedded.1");
  EXPECT_EQ(f.ca_file, "/srv/bmc-ca.pem");  // relative to the declaration
  EXPECT_EQ(f.timeout, std::chrono::seconds(20));
}

TEST(BmcKeys, InlineSecretsAreRefused) {
  auto errors =
      errorsOf(withBmc("      driver: ipmi\n      address: 10.0.0.5\n      credentials: rack-a\n"
                       "      username: admin\n      password: hunter2\n"));
  ASSERT_EQ(errors.size(), 2u);
  for (const auto& e : errors)
    EXPECT_THAT(
        e, ::testing::HasSubstr("BMC user names and passwords do not go into the declaration"));
  EXPECT_THAT(errors[1], ::testing::HasSubstr("nodes[0].bmc.password"));
  EXPECT_THAT(errors[1], ::testing::Not(::testing::HasSubstr("hunter2")));
}

TEST(BmcKeys, ShapeIsChecked) {
  EXPECT_THAT(
      errorsOf(withBmc("      driver: ilo\n      address: 10.0.0.5\n      credentials: a\n")),
      ElementsAre(
          ::testing::HasSubstr("nodes[0].bmc.driver: \"ilo\" is not one of: ipmi, redfish")));
  EXPECT_THAT(errorsOf(withBmc(
                  "      driver: ipmi\n      address: https://10.0.0.5\n      credentials: a\n")),
              ElementsAre(::testing::HasSubstr("an IPMI address is host[:port], not a URL")));
  EXPECT_THAT(errorsOf(withBmc(
                  "      driver: ipmi\n      address: 10.0.0.5:99999\n      credentials: a\n")),
              ElementsAre(::testing::HasSubstr("the port is not 1-65535")));
  EXPECT_THAT(
      errorsOf(withBmc("      driver: redfish\n      address: 10.0.0.5\n      credentials: a\n")),
      ElementsAre(::testing::HasSubstr("a Redfish address is a URL")));
  EXPECT_THAT(errorsOf(withBmc(
                  "      driver: redfish\n      address: http://10.0.0.5\n      credentials: a\n")),
              ElementsAre(::testing::HasSubstr("over plain http sends the BMC password in clear")));
  EXPECT_THAT(errorsOf(withBmc(
                  "      driver: redfish\n      address: http://10.0.0.5\n      credentials: a\n"
                  "      insecure: true\n")),
              IsEmpty());
  EXPECT_THAT(errorsOf(withBmc("      driver: ipmi\n      address: 10.0.0.5\n      credentials: a\n"
                               "      insecure: true\n")),
              ElementsAre(::testing::HasSubstr("nodes[0].bmc.insecure: only for driver: redfish")));
  EXPECT_THAT(errorsOf(withBmc("      driver: ipmi\n      address: 10.0.0.5\n")),
              ElementsAre(::testing::HasSubstr("nodes[0].bmc: missing required key \"credentials\"")));
}

}  // namespace
}  // namespace drover::cluster
