// The IPMI driver against two BMC simulators on 127.0.0.1: OpenIPMI's ipmi_sim (a real RMCP+
// session, power status and control, the boot device set and read back without the valid
// bit) and tests/e2e/ipmi_bmc.py on pyghmi's BMC server (keeps the override as the
// specification asks, and powers a stand-in QEMU process). Skipped when a simulator is not
// installed, except under CI (env CI set), where that is a failure.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "power/bmc.hpp"
#include "tests/power/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::power::testing {
namespace {

std::string findIpmiSim() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
    auto p = std::filesystem::path(dir) / "ipmi_sim";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// A UDP port nothing listens on right now.
int freeUdpPort() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::filesystem::path sourceDir() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return src ? src : ".";
}

// The BMC: one LAN channel on 127.0.0.1:port, user "admin"/"secret" at the administrator
// level; the machine's power and boot device are files under `machine`
// (tests/power/ipmi_sim_chassis.sh).
std::string lanConf(int port, const std::filesystem::path& machine) {
  return fmt::format(
      R"(name "drover-test"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "{} {}"
  user 2 true "admin" "secret" admin 10 none md2 md5 straight
)",
      port, (std::filesystem::absolute(sourceDir()) / "tests/power/ipmi_sim_chassis.sh").string(),
      machine.string());
}

constexpr std::string_view kEmu = R"(mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
)";

class IpmiSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto sim = findIpmiSim();
    if (sim.empty()) {
      if (std::getenv("CI")) FAIL() << "ipmi_sim is not installed (Debian package openipmi)";
      GTEST_SKIP() << "ipmi_sim is not installed (Debian package openipmi)";
    }
    port_ = freeUdpPort();
    std::filesystem::create_directories(dir_ / "machine");
    auto conf = dir_.write("lan.conf", lanConf(port_, dir_ / "machine"));
    auto emu = dir_.write("sim.emu", kEmu);
    std::filesystem::create_directories(dir_ / "state");
    sim_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        sim, "-c", conf.string(), "-f", emu.string(), "-s", (dir_ / "state").string(), "-n"});
    ASSERT_TRUE(sim_->started());
    // Ready once a session opens.
    for (int i = 0; i < 20; ++i) {
      if (bmc("secret", std::chrono::milliseconds(500))->status()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    FAIL() << "ipmi_sim did not answer on 127.0.0.1:" << port_;
  }

  std::unique_ptr<Bmc> bmc(const std::string& password = "secret",
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    BmcConfig c;
    c.driver = Driver::Ipmi;
    c.address = fmt::format("127.0.0.1:{}", port_);
    c.timeout = timeout;
    auto b = makeBmc(c, Credentials{"admin", password});
    EXPECT_TRUE(b);
    return std::move(*b);
  }

  test::TempDir dir_{"drover-ipmi-sim"};
  int port_ = 0;
  std::unique_ptr<ChildProcess> sim_;
};

TEST_F(IpmiSimTest, StatusOnOff) {
  auto b = bmc();
  auto st = b->status();
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(*st, PowerState::Off);
  auto on = b->set(PowerAction::On);
  ASSERT_TRUE(on) << on.error().message;
  EXPECT_EQ(*b->status(), PowerState::On);
  auto off = b->set(PowerAction::Off);
  ASSERT_TRUE(off) << off.error().message;
  auto now = b->status();
  ASSERT_TRUE(now) << now.error().message;
  EXPECT_EQ(*now, PowerState::Off);
  EXPECT_TRUE(b->set(PowerAction::Cycle));
}

// ipmi_sim stores the boot device it is given but always answers with the boot flags'
// valid bit clear: a real BMC keeps it set until the next boot (or its 60 s timer). The
// read-back sees exactly that, so verifying the override against ipmi_sim fails the way
// it must against a BMC that would not use it.
TEST_F(IpmiSimTest, NextBootIsSetAndReadBack) {
  auto b = bmc();
  auto set = b->setNextBoot(BootDevice::Network, true);
  ASSERT_TRUE(set) << set.error().code << ": " << set.error().message;
  auto back = b->nextBoot();
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->device, BootDevice::Network);
  EXPECT_TRUE(back->once);
  EXPECT_FALSE(back->valid);
  auto verified = setNextBootVerified(*b, BootDevice::Network, true);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, "bmc_ignored_boot_override");
  EXPECT_NE(verified.error().message.find("read back network (once, not valid)"), std::string::npos)
      << verified.error().message;
  ASSERT_TRUE(b->setNextBoot(BootDevice::Disk, false));
  EXPECT_EQ(b->nextBoot()->device, BootDevice::Disk);
}

TEST_F(IpmiSimTest, WrongPasswordIsAnAuthError) {
  auto st = bmc("wrong", std::chrono::seconds(2))->status();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "bmc_auth") << st.error().message;
}

TEST_F(IpmiSimTest, SilentAddressTimesOut) {
  BmcConfig c;
  c.driver = Driver::Ipmi;
  c.address = fmt::format("127.0.0.1:{}", freeUdpPort());
  c.timeout = std::chrono::seconds(1);
  auto b = makeBmc(c, Credentials{"admin", "secret"});
  ASSERT_TRUE(b);
  const auto start = std::chrono::steady_clock::now();
  auto st = (*b)->status();
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().code == "bmc_timeout" || st.error().code == "bmc_unreachable")
      << st.error().code;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// tests/e2e/ipmi_bmc.py powering tests/power/fake_qemu.py: the machine whose boot order the
// whole boots check, without the boot.
class PyghmiBmcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("/usr/bin/python3 -c 'import pyghmi.ipmi.bmc' 2>/dev/null") != 0) {
      if (std::getenv("CI")) FAIL() << "pyghmi is not installed (Debian package python3-pyghmi)";
      GTEST_SKIP() << "pyghmi is not installed (Debian package python3-pyghmi)";
    }
    port_ = freeUdpPort();
    const auto src = std::filesystem::absolute(sourceDir());
    const auto spec = dir_.write(
        "m.json",
        fmt::format(R"({{"dir": "{0}", "name": "m", "order": "disk-first",
 "net_first": ["-device", "net-first"], "disk_first": ["-device", "disk-first"],
 "argv": ["/usr/bin/python3", "{1}", "{0}/args.log"]}})",
                    dir_.path().string(), (src / "tests/power/fake_qemu.py").string()));
    bmc_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/usr/bin/python3", (src / "tests/e2e/ipmi_bmc.py").string(), spec.string(), "--port",
        std::to_string(port_)});
    ASSERT_TRUE(bmc_->started());
    ASSERT_NE(bmc_->readLine().find("listening"), std::string::npos);
  }
  void TearDown() override {
    if (bmc_) (void)bmc()->set(PowerAction::Off);
  }

  std::unique_ptr<Bmc> bmc() {
    BmcConfig c;
    c.driver = Driver::Ipmi;
    c.address = fmt::format("127.0.0.1:{}", port_);
    c.timeout = std::chrono::seconds(5);
    auto b = makeBmc(c, Credentials{"admin", "secret"});
    EXPECT_TRUE(b);
    return std::move(*b);
  }
  // The boot order of each power-on so far, one line each.
  std::string boots() { return test::readFile(dir_.path() / "args.log"); }

  test::TempDir dir_{"drover-ipmi-pyghmi"};
  int port_ = 0;
  std::unique_ptr<ChildProcess> bmc_;
};

// The override reads back valid and once, and the next power cycle alone boots the network.
TEST_F(PyghmiBmcTest, OverrideIsVerifiedAndUsedByTheNextCycleOnly) {
  auto b = bmc();
  auto on = b->set(PowerAction::On);
  ASSERT_TRUE(on) << on.error().code << ": " << on.error().message;
  EXPECT_EQ(*b->status(), PowerState::On);
  auto verified = setNextBootVerified(*b, BootDevice::Network, true);
  ASSERT_TRUE(verified) << verified.error().message;
  ASSERT_TRUE(b->set(PowerAction::Cycle));
  ASSERT_TRUE(b->set(PowerAction::Cycle));
  EXPECT_EQ(boots(), "disk-first\nnet-first\n");
  EXPECT_EQ(b->nextBoot()->device, BootDevice::None);
  ASSERT_TRUE(b->set(PowerAction::Off));
  EXPECT_EQ(*b->status(), PowerState::Off);
}

}  // namespace
}  // namespace drover::power::testing
