// Runs the whole-boot scenarios (tests/e2e/whole-boot.sh) and reports their console and
// timeline output. Exit code 77 from a script means a prerequisite is missing: skipped.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/fd.hpp"

namespace drover {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

class WholeBoot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces and tap devices";
    src_ = env("DROVER_SOURCE_DIR");
    bin_ = env("DROVER_BINARY_DIR");
    ASSERT_FALSE(src_.empty() || bin_.empty());
    // The shards of this binary run side by side: one of them builds, the others wait.
    const UniqueFd lock(
        ::open((bin_ + "/e2e-setup.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
    ASSERT_TRUE(lock);
    ASSERT_EQ(::flock(lock.get(), LOCK_EX), 0);
    const auto bootenv = bin_ + "/boot-env";
    // Built again when the agent it carries changed since: an older agent would install
    // and join, but not act on what it learned since (a heartbeat's reinstall request).
    const auto agent = bin_ + "/bin/drover-agent";
    if (!fs::exists(bootenv + "/initrd.img") ||
        (fs::exists(agent) &&
         fs::last_write_time(agent) > fs::last_write_time(bootenv + "/initrd.img"))) {
      ASSERT_EQ(run(src_ + "/images/boot-env/build.sh " + bootenv + " --agent " + bin_ +
                    "/bin/drover-agent"),
                0)
          << "building the boot environment failed";
    }
    const auto image = bin_ + "/e2e/test-os.raw.zst";
    if (!fs::exists(image) || olderThanItsInputs(image)) {
      fs::create_directories(bin_ + "/e2e");
      ASSERT_EQ(run(src_ + "/tests/e2e/build-test-os.sh " + bootenv + " " + image), 0)
          << "building the test OS image failed";
    }
  }

  // tests/e2e/SCRIPT [ARGS] DROVER BOOT_ENV TEST_OS, with `env` (VAR=value ...) before it;
  // exit 77 skips (a prerequisite is missing), anything but 0 fails.
  void script(const std::string& command, const std::string& env = "") {
    const int rc = run(env + (env.empty() ? "" : " ") + src_ + "/tests/e2e/" + command + " " +
                       bin_ + "/bin/drover " + bin_ + "/boot-env " + bin_ + "/e2e/test-os.raw.zst");
    if (rc == 77) GTEST_SKIP() << "a prerequisite is missing";
    EXPECT_EQ(rc, 0) << command << " failed (console and log above)";
  }
  void boot(const std::string& firmware) { script("whole-boot.sh " + firmware); }
  // tests/e2e/scenarios.sh: discovery, proxy, cluster, http, secureboot, arm64.
  void scenario(const std::string& name, const std::string& env = "") {
    script("scenarios.sh " + name, env);
  }

  // The test OS image is rebuilt when the scripts it is made from, or the boot environment
  // whose kernel and initramfs it boots, changed since.
  bool olderThanItsInputs(const std::string& image, const std::string& bootenv = {}) const {
    const auto built = fs::last_write_time(image);
    for (const char* input : {"build-test-os.sh", "test-os-init.sh"}) {
      if (fs::last_write_time(src_ + "/tests/e2e/" + input) > built) return true;
    }
    return fs::last_write_time((bootenv.empty() ? bin_ + "/boot-env" : bootenv) + "/initrd.img") >
           built;
  }

  std::string src_;
  std::string bin_;
};

// Then ipmi_sim powers the machine (QEMU started and stopped by its chassis program):
// `drover power on`, and `drover reinstall --power`. ipmi_sim never reports the boot
// override valid, so the read-back catches it and the node's agent is asked instead: it
// reboots, the network-first BIOS reaches Drover, and the machine installs and joins again.
TEST_F(WholeBoot, BiosInstallsBootsItsDiskAndJoins) {
  boot("bios");
}

// OVMF's own PXE fetches ipxe.efi over TFTP, which chains to the per-node script; after the
// install the NIC is still first: the local script chains Drover's network GRUB, whose
// grub.cfg starts the disk's EFI loader. Then a Redfish BMC that acknowledges the boot
// override and drops it powers the machine through QMP, the disk first in its boot order:
// `drover reinstall --power` catches the lie, the installed OS's agent writes BootNext to
// the NIC's PXE entry through efivarfs and reboots, and OVMF takes the network.
TEST_F(WholeBoot, UefiInstallsBootsItsDiskAndJoins) {
  boot("uefi");
}

// An unknown machine boots the agent in discovery mode and shows up with its facts.
TEST_F(WholeBoot, UnknownMachineIsDiscoveredWithItsFacts) {
  scenario("discovery");
}

// dnsmasq leases the address; Drover in proxyDHCP mode gives the boot answers.
TEST_F(WholeBoot, ProxyDhcpBesideDnsmasqInstalls) {
  scenario("proxy");
}

// UEFI HTTP boot on a network without TFTP: OVMF (PXE off) gets ipxe.efi as a URL, installs,
// and its disk (first in the boot order) boots and joins.
TEST_F(WholeBoot, UefiHttpBootInstallsWithoutTftp) {
  scenario("http");
}

// Secure Boot on OVMF with Microsoft's keys: Debian's signed shim, network GRUB and kernel
// install the machine, its disk boots through its own shim and GRUB, and the installed OS
// reports Secure Boot on; an unknown machine with the same firmware is refused iPXE.
TEST_F(WholeBoot, SecureBootInstallsThroughTheSignedChain) {
  scenario("secureboot");
}

// A master and a worker boot at once, install, and join.
TEST_F(WholeBoot, MasterAndWorkerInstallAndJoin) {
  scenario("cluster");
}

// A disk built by `drover images build` from the test OS as a container image (its kernel
// in /boot): a BIOS machine installs it and boots it through syslinux from its ESP, then the
// same disk boots with Secure Boot on through shim and GRUB; both find the root by UUID, mount
// the ESP from fstab and join.
TEST_F(WholeBoot, ImageBuiltFromAContainerBootsOnBiosAndUefi) {
  script("built-image.sh");
}

// An arm64 machine (QEMU's virt machine with AAVMF under TCG): Debian's arm64 network GRUB
// over TFTP boots the arm64 boot environment, which installs the arm64 test OS; the second
// power-on (network first) reaches the disk through the same GRUB and joins. The arm64
// agent, boot environment and test OS are built on first use (a cross build).
class WholeBootArm64 : public WholeBoot {
 protected:
  void SetUp() override {
    WholeBoot::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The cross build is incremental: a no-op when the agent's sources did not change.
    ASSERT_EQ(run(src_ + "/scripts/build-agent.sh --arch arm64 " + bin_ + "/arm64"), 0)
        << "cross-building the arm64 agent failed";
    const auto agent = bin_ + "/arm64/bin/drover-agent";
    const auto bootenv = bin_ + "/boot-env-arm64";
    if (!fs::exists(bootenv + "/initrd.img") ||
        fs::last_write_time(agent) > fs::last_write_time(bootenv + "/initrd.img")) {
      ASSERT_EQ(
          run(src_ + "/images/boot-env/build.sh " + bootenv + " --arch arm64 --agent " + agent), 0)
          << "building the arm64 boot environment failed";
    }
    const auto image = bin_ + "/e2e/test-os-arm64.raw.zst";
    if (!fs::exists(image) || olderThanItsInputs(image, bootenv)) {
      ASSERT_EQ(run(src_ + "/tests/e2e/build-test-os.sh --arch arm64 " + bootenv + " " + image), 0)
          << "building the arm64 test OS image failed";
    }
  }
};

TEST_F(WholeBootArm64, Arm64InstallsThroughTheNetworkGrub) {
  scenario("arm64", "E2E_ARM64_BOOT_ENV=" + bin_ + "/boot-env-arm64 E2E_ARM64_IMAGE=" + bin_ +
                        "/e2e/test-os-arm64.raw.zst");
}

// Three replicas on a three-member etcd (tests/e2e/ha-boot.sh): the replica that
// acknowledged the machine's first DHCP is killed (-9); the machine still installs, boots
// its disk and joins through the others, its record and timeline are whole on them, and no
// address is held twice in etcd. Without etcd it skips (a failure under CI).
TEST_F(WholeBoot, BiosBootSurvivesItsReplicaKilled) {
  script("ha-boot.sh");
}

}  // namespace
}  // namespace drover
