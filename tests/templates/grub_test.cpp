// The network GRUB's configurations: the entry, a machine's `local` and `ipxe` ones.
#include "templates/grub.hpp"

#include <gtest/gtest.h>

namespace drover::templates {
namespace {

bool hasLine(const std::string& text, std::string_view line) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (std::string_view(text).substr(pos, end - pos) == line) return true;
    pos = end + 1;
  }
  return false;
}

TEST(GrubConfigTest, EntryLoadsTheMachinesOwnByMac) {
  const std::string entry(grubEntryConfig());
  EXPECT_TRUE(hasLine(entry, "configfile $prefix/drover/${grub_cpu}/${net_default_mac}.cfg"))
      << entry;
}

TEST(GrubConfigTest, LocalFindsTheEspAndChainloadsItsLoader) {
  GrubParams p;
  p.node = "worker-1";
  auto s = renderGrubConfig(GrubConfig::kLocal, p);
  ASSERT_TRUE(s.ok()) << s.error().message;
  // The removable-media path first; chainloader takes the root found by search.
  EXPECT_TRUE(hasLine(*s, "for loader in " + std::string(grubLoaderPaths()) + "; do")) << *s;
  EXPECT_EQ(std::string(grubLoaderPaths()).rfind("/EFI/BOOT/BOOTX64.EFI ", 0), 0u);
  EXPECT_TRUE(hasLine(*s, "  if search --no-floppy --file --set=root $loader; then")) << *s;
  EXPECT_TRUE(hasLine(*s, "    chainloader $loader")) << *s;
  EXPECT_TRUE(hasLine(*s, "    boot")) << *s;
  EXPECT_TRUE(hasLine(*s, "sleep 30")) << *s;
  EXPECT_TRUE(hasLine(*s, "reboot")) << *s;
  EXPECT_NE(s->find("worker-1 is installed"), std::string::npos);
  EXPECT_EQ(s->find("linux"), std::string::npos);  // never a kernel: no reinstall from here
}

TEST(GrubConfigTest, LocalOnArm64LooksForTheArm64Loaders) {
  GrubParams p;
  p.node = "arm-1";
  p.arm64 = true;
  auto s = renderGrubConfig(GrubConfig::kLocal, p);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(hasLine(*s, "for loader in " + std::string(grubLoaderPaths(true)) + "; do")) << *s;
  EXPECT_EQ(std::string(grubLoaderPaths(true)).rfind("/EFI/BOOT/BOOTAA64.EFI ", 0), 0u);
  EXPECT_EQ(s->find("X64"), std::string::npos) << *s;
  EXPECT_EQ(s->find("x64"), std::string::npos) << *s;
}

TEST(GrubConfigTest, IpxeChainsTheLoaderWithASafeMessage) {
  GrubParams p;
  p.node = "worker-1";
  p.ipxe_loader = "snponly.efi";
  p.message = "reinstall requested; $(evil) \"quote\" `cmd`";
  p.retry_seconds = 5;
  auto s = renderGrubConfig(GrubConfig::kIpxe, p);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(hasLine(*s, "chainloader /snponly.efi")) << *s;
  EXPECT_TRUE(hasLine(*s, "sleep 5")) << *s;
  EXPECT_EQ(s->find('$'), std::string::npos) << *s;
  EXPECT_EQ(s->find('`'), std::string::npos) << *s;
  EXPECT_EQ(s->find("\"quote"), std::string::npos) << *s;
}

TEST(GrubConfigTest, UnsafeWordsAreRefused) {
  GrubParams p;
  p.node = "worker-1; reboot";
  EXPECT_EQ(renderGrubConfig(GrubConfig::kLocal, p).error().code, "bad_script_value");
  p.node = "";
  EXPECT_FALSE(renderGrubConfig(GrubConfig::kLocal, p).ok());
  p.node = "worker-1";
  p.ipxe_loader = "ipxe.efi\nboot";
  EXPECT_FALSE(renderGrubConfig(GrubConfig::kIpxe, p).ok());
  p.ipxe_loader = "";
  EXPECT_FALSE(renderGrubConfig(GrubConfig::kIpxe, p).ok());
}

}  // namespace
// Secure Boot: the boot environment through GRUB, its command line word by word.
TEST(GrubConfigTest, LinuxBootsTheBootEnvironmentOverTftp) {
  GrubParams p;
  p.node = "worker-1";
  p.message = "install worker-1 through the signed chain";
  p.kernel_path = "drover/boot-env/kernel";
  p.initrd_path = "drover/boot-env/initrd";
  p.kernel_args = {"drover.api=https://192.0.2.1:8443,https://192.0.2.2:8443",
                   "drover.ca=sha256:ab12", "drover.token=Tk-_.~x", "drover.mode=install",
                   "console=ttyS0,115200n8"};
  auto s = renderGrubConfig(GrubConfig::kLinux, p);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(hasLine(*s,
                      "linux /drover/boot-env/kernel "
                      "drover.api=https://192.0.2.1:8443,https://192.0.2.2:8443 "
                      "drover.ca=sha256:ab12 drover.token=Tk-_.~x drover.mode=install "
                      "console=ttyS0,115200n8"))
      << *s;
  EXPECT_TRUE(hasLine(*s, "initrd /drover/boot-env/initrd")) << *s;
  EXPECT_TRUE(hasLine(*s, "boot")) << *s;
  EXPECT_TRUE(hasLine(*s, "reboot")) << *s;
  EXPECT_EQ(s->find("chainloader"), std::string::npos);  // never iPXE
  for (const char* bad : {"a;reboot", "$prefix", "x\"y", "two words", "", "a\nb", "a`b`"}) {
    auto q = p;
    q.kernel_args.push_back(bad);
    auto r = renderGrubConfig(GrubConfig::kLinux, q);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "bad_script_value");
  }
  auto q = p;
  q.kernel_path = "../x;y";
  EXPECT_FALSE(renderGrubConfig(GrubConfig::kLinux, q).ok());
}

TEST(GrubConfigTest, WaitShowsWhyAndReboots) {
  GrubParams p;
  p.node = "worker-1";
  p.message = "the last install failed: $(reboot) \"x\"";
  auto s = renderGrubConfig(GrubConfig::kWait, p);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->find('$'), std::string::npos) << *s;
  EXPECT_TRUE(hasLine(*s, "reboot")) << *s;
  EXPECT_EQ(s->find("chainloader"), std::string::npos);
  EXPECT_EQ(grubConfigName(GrubConfig::kWait), "wait");
  EXPECT_EQ(grubConfigName(GrubConfig::kLinux), "linux");
}

}  // namespace drover::templates
