// One operation per node at a time, a bounded rate per BMC, and credentials that stay out
// of the declaration.
#include <sys/stat.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "power/credentials.hpp"
#include "power/gate.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::power {
namespace {

TEST(PowerGate, SecondOperationOnABusyNodeIsRefused) {
  PowerGate gate(6, std::chrono::seconds(60), 2);
  auto first = gate.enter("node-1", "10.0.0.5");
  ASSERT_TRUE(first);
  auto second = gate.enter("node-1", "10.0.0.5");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, "bmc_busy");
  EXPECT_TRUE(gate.enter("node-2", "10.0.0.6"));  // another node goes ahead
}

TEST(PowerGate, OperationsAtOnceAreBounded) {
  PowerGate gate(6, std::chrono::seconds(60), 1);
  auto first = gate.enter("node-1", "10.0.0.5");
  ASSERT_TRUE(first);
  auto other = gate.enter("node-2", "10.0.0.6");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, "bmc_busy");
}

TEST(PowerGate, NodeIsFreeAgainWhenThePassIsGone) {
  PowerGate gate;
  {
    auto pass = gate.enter("node-1", "10.0.0.5");
    ASSERT_TRUE(pass);
  }
  EXPECT_TRUE(gate.enter("node-1", "10.0.0.5"));
}

TEST(PowerGate, RateIsLimitedPerBmc) {
  PowerGate gate(2, std::chrono::seconds(60));
  const auto t0 = PowerGate::Clock::now();
  { ASSERT_TRUE(gate.enter("a", "bmc", t0)); }
  { ASSERT_TRUE(gate.enter("a", "bmc", t0)); }
  auto third = gate.enter("a", "bmc", t0 + std::chrono::seconds(1));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, "bmc_rate_limited");
  { EXPECT_TRUE(gate.enter("a", "other-bmc", t0)); }
  EXPECT_TRUE(gate.enter("a", "bmc", t0 + std::chrono::seconds(61)));
}

TEST(Credentials, FromAFileOfMode0600) {
  test::TempDir dir;
  auto file =
      dir.write("bmc-credentials.yaml", "rack-a: {username: admin, password: \"s3cret\"}\n");
  ::chmod(file.c_str(), 0600);
  auto c = lookupCredentials(dir.path(), "rack-a");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->username, "admin");
  EXPECT_EQ(c->password, "s3cret");
  auto missing = lookupCredentials(dir.path(), "rack-b");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "bmc_credentials");
}

TEST(Credentials, AFileOthersCanReadIsRefused) {
  test::TempDir dir;
  auto file = dir.write("bmc-credentials.yaml", "rack-a: {username: admin, password: x}\n");
  ::chmod(file.c_str(), 0644);
  auto c = lookupCredentials(dir.path(), "rack-a");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("chmod 600"), std::string::npos) << c.error().message;
}

TEST(Credentials, EnvironmentComesFirst) {
  test::TempDir dir;
  EXPECT_EQ(credentialsEnvPrefix("rack-a.b"), "DROVER_BMC_RACK_A_B");
  ::setenv("DROVER_BMC_RACK_ENV_USERNAME", "root", 1);
  ::setenv("DROVER_BMC_RACK_ENV_PASSWORD", "calvin", 1);
  auto c = lookupCredentials(dir.path(), "rack-env");
  ::unsetenv("DROVER_BMC_RACK_ENV_USERNAME");
  ::unsetenv("DROVER_BMC_RACK_ENV_PASSWORD");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->username, "root");
  EXPECT_EQ(c->password, "calvin");
}

}  // namespace
}  // namespace drover::power
