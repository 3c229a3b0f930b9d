// The network GRUB over TFTP against an in-process drover serve: the entry configuration,
// an arm64 machine's own (install with the arm64 boot environment, then its disk), an x64
// machine's, and the files of the arm64 chain.
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string replaceOnce(std::string text, std::string_view what, std::string_view with) {
  const auto at = text.find(what);
  EXPECT_NE(at, std::string::npos) << what;
  if (at != std::string::npos) text.replace(at, what.size(), with);
  return text;
}

class GrubFlowTest : public ServeTest {
 protected:
  void SetUp() override {}

  // arm64: whether the declaration has an arm64 boot environment.
  void startSite(bool arm64) {
    ::drover::test::writeSiteFiles(dir_.path(), kKernelBytes);
    writeFile(dir_.path() / "images/arm64/vmlinuz", "ARM64-KERNEL");
    writeFile(dir_.path() / "images/arm64/initrd.img", "ARM64-INITRD");
    writeFile(dir_.path() / "loaders/grubnetaa64.efi", "ARM64-GRUB");
    ::drover::test::ClusterYaml y;
    y.boot = "{ grub_efi_arm64: loaders/grubnetaa64.efi }";
    std::string text = y.str();
    if (arm64) {
      text = replaceOnce(text, "images:\n",
                         "images:\n"
                         "  boot-env-arm64:\n"
                         "    kernel: { path: images/arm64/vmlinuz }\n"
                         "    initrd: { path: images/arm64/initrd.img }\n");
      text = replaceOnce(text, "defaults:\n", "defaults:\n  boot_env_arm64: boot-env-arm64\n");
    }
    config_ = dir_.path() / "cluster.yaml";
    writeFile(config_, text);
    app_ = std::make_unique<RunningApp>(config_);
    ASSERT_TRUE(app_->ok());
  }

  // A TFTP read with libcurl, without options: libcurl 7.88 gives up on an OACK whose
  // tsize is 0, as Drover's is for the empty module lists (GRUB and tftp-hpa take it).
  Reply tftp(const std::string& path) {
    Reply r;
    CURL* h = curl_easy_init();
    const std::string url = "tftp://" + app_->app().endpointForTest("tftp") + "/" + path;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_TFTP_NO_OPTIONS, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);  // safety only
    curl_easy_setopt(
        h, CURLOPT_WRITEFUNCTION, +[](char* p, size_t n, size_t m, void* out) {
          static_cast<std::string*>(out)->append(p, n * m);
          return n * m;
        });
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    if (CURLcode rc = curl_easy_perform(h); rc != CURLE_OK) r.error = curl_easy_strerror(rc);
    curl_easy_cleanup(h);
    return r;
  }
};

TEST_F(GrubFlowTest, EntryAsksForTheConfigurationOfItsArchitecture) {
  startSite(true);
  auto entry = tftp("grub/grub.cfg");
  ASSERT_TRUE(entry.error.empty()) << entry.error;
  EXPECT_THAT(entry.body,
              HasSubstr("configfile $prefix/drover/${grub_cpu}/${net_default_mac}.cfg"));
  EXPECT_TRUE(tftp("grub/arm64-efi/command.lst").error.empty());
  EXPECT_TRUE(tftp("grub/x86_64-efi/fs.lst").error.empty());
}

TEST_F(GrubFlowTest, Arm64MachineInstallsThroughGrubThenBootsItsDisk) {
  startSite(true);
  const std::string cfg = std::string("grub/drover/arm64/") + kMac1 + ".cfg";
  auto install_cfg = tftp(cfg);
  ASSERT_TRUE(install_cfg.error.empty()) << install_cfg.error;
  EXPECT_THAT(install_cfg.body, HasSubstr("linux /drover/boot-env-arm64/kernel "));
  EXPECT_THAT(install_cfg.body, HasSubstr("initrd /drover/boot-env-arm64/initrd"));
  EXPECT_THAT(install_cfg.body, HasSubstr("drover.mode=install"));
  EXPECT_THAT(install_cfg.body, HasSubstr("drover.node=node-1"));
  EXPECT_THAT(install_cfg.body, HasSubstr("console=ttyAMA0,115200"));
  EXPECT_THAT(install_cfg.body, Not(HasSubstr("chainloader")));  // never iPXE
  // The token in GRUB's command line is a boot token like the iPXE script's.
  const auto token = tokenOf(install_cfg.body);
  ASSERT_FALSE(token.empty()) << install_cfg.body;
  auto exchanged =
      apiCall("POST", "/v1/agent/exchange", "", nlohmann::json{{"token", token}}.dump());
  EXPECT_EQ(exchanged.status, 200) << exchanged.body;

  // The chain's files: the arm64 GRUB and the arm64 boot environment, not the x64 one.
  EXPECT_EQ(tftp("grubnetaa64.efi").body, "ARM64-GRUB");
  EXPECT_EQ(tftp("drover/boot-env-arm64/kernel").body, "ARM64-KERNEL");
  EXPECT_EQ(tftp("drover/boot-env-arm64/initrd").body, "ARM64-INITRD");
  EXPECT_EQ(tftp("drover/boot-env/kernel").body, kKernelBytes);

  install(kMac1);
  auto local = tftp(cfg);
  ASSERT_TRUE(local.error.empty()) << local.error;
  EXPECT_THAT(local.body, HasSubstr("/EFI/BOOT/BOOTAA64.EFI"));
  EXPECT_THAT(local.body, Not(HasSubstr("BOOTX64.EFI")));
  EXPECT_THAT(local.body, HasSubstr("chainloader $loader"));
  EXPECT_THAT(local.body, Not(HasSubstr("linux /")));
  // The timeline's writer runs in the background: wait (bounded) for the last entry.
  std::string events;
  for (int i = 0; i < 100; ++i) {
    events = op("GET", "/v1/nodes/node-1/events").body;
    if (events.find("grub local (arm64 efi)") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(events, HasSubstr("grub install (arm64 efi)"));
  EXPECT_THAT(events, HasSubstr("grub local (arm64 efi)"));

  // A reinstall goes through GRUB again, never to iPXE.
  EXPECT_EQ(op("POST", "/v1/nodes/node-1/reinstall").status, 200);
  EXPECT_THAT(tftp(cfg).body, HasSubstr("linux /drover/boot-env-arm64/kernel "));
}

TEST_F(GrubFlowTest, X64MachinesStillGoBackToIpxeAndArm64IsOffWithoutItsBootEnvironment) {
  startSite(false);
  auto x64 = tftp(std::string("grub/drover/x86_64/") + kMac1 + ".cfg");
  ASSERT_TRUE(x64.error.empty()) << x64.error;
  EXPECT_THAT(x64.body, HasSubstr("chainloader /ipxe.efi"));
  install(kMac1);
  EXPECT_THAT(tftp(std::string("grub/drover/x86_64/") + kMac1 + ".cfg").body,
              HasSubstr("/EFI/BOOT/BOOTX64.EFI"));
  // No arm64 boot environment declared: nothing of the arm64 chain is served.
  EXPECT_FALSE(tftp(std::string("grub/drover/arm64/") + kMac1 + ".cfg").error.empty());
  EXPECT_FALSE(tftp("grubnetaa64.efi").error.empty());
  EXPECT_FALSE(tftp("drover/boot-env-arm64/kernel").error.empty());
  // Not a path Drover serves: the old form without the architecture, a made-up one.
  EXPECT_FALSE(tftp(std::string("grub/drover/") + kMac1 + ".cfg").error.empty());
  EXPECT_FALSE(tftp(std::string("grub/drover/riscv64/") + kMac1 + ".cfg").error.empty());
}

}  // namespace
}  // namespace drover::server::testing
