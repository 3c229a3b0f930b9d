// The Redfish driver against tests/power/redfish_mock.py, well-behaved and not.
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "common/metrics.hpp"
#include "power/bmc.hpp"
#include "power/gate.hpp"
#include "tests/power/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::power::testing {
namespace {

std::filesystem::path mockScript() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".") / "tests/power/redfish_mock.py";
}

class RedfishMock {
 public:
  explicit RedfishMock(const std::string& mode, const std::string& log = "")
      : process_({"python3", mockScript().string(), "--mode", mode, "--log", log}) {
    port_ = process_.readLine();
  }
  // HTTPS with this certificate and key.
  RedfishMock(const std::filesystem::path& cert, const std::filesystem::path& key)
      : process_(
            {"python3", mockScript().string(), "--cert", cert.string(), "--key", key.string()}),
        scheme_("https") {
    port_ = process_.readLine();
  }
  bool ok() const { return !port_.empty(); }
  std::string url() const { return scheme_ + "://127.0.0.1:" + port_; }

 private:
  ChildProcess process_;
  std::string scheme_ = "http";
  std::string port_;
};

std::unique_ptr<Bmc> connect(const RedfishMock& mock, const std::string& password = "secret",
                             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  BmcConfig c;
  c.driver = Driver::Redfish;
  c.address = mock.url();
  c.timeout = timeout;
  auto bmc = makeBmc(c, Credentials{"admin", password});
  EXPECT_TRUE(bmc.ok());
  return bmc ? std::move(*bmc) : nullptr;
}

TEST(RedfishBmc, PowerAndBootOverrideRoundTrip) {
  test::TempDir dir;
  const auto log = (dir.path() / "requests.log").string();
  RedfishMock mock("normal", log);
  ASSERT_TRUE(mock.ok());
  auto bmc = connect(mock);
  auto st = bmc->status();
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(*st, PowerState::Off);
  ASSERT_TRUE(bmc->set(PowerAction::On));
  EXPECT_EQ(*bmc->status(), PowerState::On);
  ASSERT_TRUE(bmc->set(PowerAction::Off));
  EXPECT_EQ(*bmc->status(), PowerState::Off);

  auto before = bmc->nextBoot();
  ASSERT_TRUE(before);
  EXPECT_EQ(before->device, BootDevice::None);
  EXPECT_FALSE(before->valid);
  auto verified = setNextBootVerified(*bmc, BootDevice::Network, true);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(*bmc->nextBoot(), (BootOverride{BootDevice::Network, true, true}));
  ASSERT_TRUE(bmc->set(PowerAction::Cycle));
  EXPECT_EQ(bmc->nextBoot()->device, BootDevice::None);  // spent by the boot

  const auto requests = test::readFile(log);
  EXPECT_NE(requests.find(R"({"ResetType":"On"})"), std::string::npos) << requests;
  EXPECT_NE(requests.find(R"("ResetType":"ForceOff")"), std::string::npos) << requests;
  EXPECT_NE(requests.find(R"("ResetType":"PowerCycle")"), std::string::npos) << requests;
  EXPECT_NE(requests.find(R"("BootSourceOverrideEnabled":"Once","BootSourceOverrideTarget":"Pxe")"),
            std::string::npos)
      << requests;
}

TEST(RedfishBmc, ReadBackCatchesAnIgnoredBootOverride) {
  RedfishMock mock("ignore-boot");
  ASSERT_TRUE(mock.ok());
  auto bmc = connect(mock);
  ASSERT_TRUE(bmc->setNextBoot(BootDevice::Network, true));  // acknowledged
  auto verified = setNextBootVerified(*bmc, BootDevice::Network, true);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, "bmc_ignored_boot_override");
  EXPECT_NE(verified.error().message.find("bmc ignored boot override"), std::string::npos);
}

TEST(RedfishBmc, WrongPasswordIsAnAuthError) {
  RedfishMock mock("normal");
  ASSERT_TRUE(mock.ok());
  auto bmc = connect(mock, "wrong");
  auto st = bmc->status();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "bmc_auth");
  auto set = bmc->set(PowerAction::On);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, "bmc_auth");
}

TEST(RedfishBmc, SilentBmcTimesOutWithinTheTimeout) {
  RedfishMock mock("timeout");
  ASSERT_TRUE(mock.ok());
  auto bmc = connect(mock, "secret", std::chrono::milliseconds(500));
  auto st = bmc->status();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "bmc_timeout") << st.error().message;
  auto set = bmc->setNextBoot(BootDevice::Disk, true);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, "bmc_timeout");
}

TEST(RedfishBmc, MalformedJsonIsAProtocolError) {
  RedfishMock mock("malformed");
  ASSERT_TRUE(mock.ok());
  auto bmc = connect(mock);
  auto st = bmc->status();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "bmc_protocol") << st.error().message;
}

TEST(RedfishBmc, NothingListeningIsUnreachable) {
  BmcConfig c;
  c.driver = Driver::Redfish;
  c.address = "http://127.0.0.1:1";
  c.timeout = std::chrono::seconds(2);
  auto bmc = makeBmc(c, Credentials{"a", "b"});
  ASSERT_TRUE(bmc);
  auto st = (*bmc)->status();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "bmc_unreachable") << st.error().message;
}

// A self-signed certificate for 127.0.0.1 made with the openssl command; false without it.
bool makeCertificate(const std::filesystem::path& dir) {
  const auto cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bmc "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      (dir / "bmc.key").string() + " -out " + (dir / "bmc.crt").string() + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

TEST(RedfishBmc, CertificateIsVerifiedAgainstTheConfiguredCa) {
  test::TempDir dir;
  if (!makeCertificate(dir.path())) GTEST_SKIP() << "no openssl command";
  RedfishMock mock(dir.path() / "bmc.crt", dir.path() / "bmc.key");
  ASSERT_TRUE(mock.ok());
  BmcConfig c;
  c.driver = Driver::Redfish;
  c.address = mock.url();
  c.timeout = std::chrono::seconds(5);
  const Credentials creds{"admin", "secret"};
  auto untrusted = (*makeBmc(c, creds))->status();  // the system's trust store does not know it
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().code, "bmc_tls") << untrusted.error().message;
  c.ca_file = (dir.path() / "bmc.crt").string();
  auto trusted = (*makeBmc(c, creds))->status();
  ASSERT_TRUE(trusted) << trusted.error().message;
  c.ca_file.clear();
  c.insecure = true;
  auto insecure = (*makeBmc(c, creds))->status();
  ASSERT_TRUE(insecure) << insecure.error().message;
}

TEST(RedfishBmc, AddressMustBeAUrl) {
  BmcConfig c;
  c.driver = Driver::Redfish;
  c.address = "10.0.0.5";
  auto bmc = makeBmc(c, Credentials{});
  ASSERT_FALSE(bmc);
  EXPECT_EQ(bmc.error().code, "bmc_config");
}

TEST(RedfishBmc, CallsAreCountedByDriverAndResult) {
  RedfishMock mock("normal");
  ASSERT_TRUE(mock.ok());
  metrics::Registry registry;
  CountedBmc ok(connect(mock), registry);
  ASSERT_TRUE(ok.status());
  CountedBmc refused(connect(mock, "wrong"), registry);
  ASSERT_FALSE(refused.status());
  EXPECT_EQ(registry.valueForTest("bmc_requests_total", R"(driver="redfish",result="ok")"), 1);
  EXPECT_EQ(registry.valueForTest("bmc_requests_total", R"(driver="redfish",result="bmc_auth")"),
            1);
}

}  // namespace
}  // namespace drover::power::testing
