#include "agent/cmdline.hpp"

#include <gtest/gtest.h>

namespace drover::agent {
namespace {

const std::string kFp = "ab" + std::string(62, '0');

TEST(Cmdline, SplitsLikeTheKernel) {
  auto w = splitCmdline("  console=ttyS0  drover.node=\"worker 1\" \"quoted word\" x=\"a\"b\n");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0], "console=ttyS0");
  EXPECT_EQ(w[1], "drover.node=worker 1");
  EXPECT_EQ(w[2], "quoted word");
  EXPECT_EQ(w[3], "x=ab");
}

TEST(Cmdline, ParsesEveryKeyAndIgnoresOthers) {
  auto p = parseKernelCmdline(
      "BOOT_IMAGE=vmlinuz initrd=initrd.img console=ttyS0 drover.api=https://192.0.2.1:8443/ "
      "drover.ca=sha256:" + kFp + " drover.token=tok123 drover.mode=install "
      "drover.node=worker-1 drover.future=whatever quiet");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->api, "https://192.0.2.1:8443");
  EXPECT_EQ(p->ca_fingerprint, kFp);
  EXPECT_EQ(p->token, "tok123");
  EXPECT_EQ(p->mode, Mode::Install);
  EXPECT_EQ(p->node, "worker-1");
}

TEST(Cmdline, SeveralApiUrlsAreTheReplicasInOrder) {
  auto p = parseKernelCmdline("drover.api=https://192.0.2.1:8443/,https://192.0.2.2:8443,,https://192.0.2.3:8443 "
                              "drover.token=t");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->api, "https://192.0.2.1:8443");
  EXPECT_EQ(p->api_alternates, (std::vector<std::string>{"https://192.0.2.2:8443", "https://192.0.2.3:8443"}));

  auto bad = parseKernelCmdline("drover.api=https://192.0.2.1:8443,ftp://192.0.2.2 drover.token=t");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "bad_api");
  EXPECT_NE(bad.error().message.find("ftp://192.0.2.2"), std::string::npos);

  std::string many = "https://192.0.2.1:8443";
  for (int i = 2; i <= 17; ++i) many += ",https://192.0.2." + std::to_string(i) + ":8443";
  auto too_many = parseKernelCmdline("drover.api=" + many + " drover.token=t");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, "bad_api");
  EXPECT_EQ(parseKernelCmdline("drover.api=, drover.token=t").error().code, "missing_api");
}

TEST(Cmdline, QuotedValuesAndDefaults) {
  auto p = parseKernelCmdline("drover.api=\"http://192.0.2.1:8080\" drover.token=\"a b\"");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->token, "a b");
  EXPECT_EQ(p->mode, Mode::Install);
  EXPECT_TRUE(p->ca_fingerprint.empty());
}

TEST(Cmdline, DiscoverModeNeedsNoToken) {
  auto p = parseKernelCmdline("drover.api=https://192.0.2.1:8443 drover.mode=discover");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->mode, Mode::Discover);
}

TEST(Cmdline, MissingOrBadValuesAreClearErrors) {
  auto missing_api = parseKernelCmdline("console=ttyS0 drover.token=t");
  ASSERT_FALSE(missing_api.ok());
  EXPECT_EQ(missing_api.error().code, "missing_api");
  EXPECT_NE(missing_api.error().message.find("drover.api"), std::string::npos);

  auto missing_token = parseKernelCmdline("drover.api=https://192.0.2.1:8443");
  ASSERT_FALSE(missing_token.ok());
  EXPECT_EQ(missing_token.error().code, "missing_token");

  EXPECT_EQ(parseKernelCmdline("drover.api=ftp://x drover.token=t").error().code, "bad_api");
  // No host: trailing slashes are stripped, never the scheme's own (found by agent_cmdline_fuzz).
  for (const char* url : {"https://", "https:///", "http:////", "https:///192.0.2.1"}) {
    auto r = parseKernelCmdline(std::string("drover.api=") + url + " drover.token=t");
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().code, "bad_api") << url;
  }
  EXPECT_EQ(parseKernelCmdline("drover.api=https://x drover.token=t drover.ca=sha256:abc")
                .error().code, "bad_ca");
  EXPECT_EQ(parseKernelCmdline("drover.api=https://x drover.token=t drover.ca=sha256:" +
                               std::string(63, '0') + "g").error().code, "bad_ca");
  EXPECT_EQ(parseKernelCmdline("drover.api=https://x drover.token=t drover.mode=explode")
                .error().code, "bad_mode");
}

TEST(Cmdline, FingerprintForms) {
  std::string colons, plain;
  for (int i = 0; i < 32; ++i) {
    colons += (i ? ":" : "") + std::string("AB");
    plain += "ab";
  }
  auto fp = normalizeFingerprint(colons);
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(*fp, plain);
  EXPECT_TRUE(normalizeFingerprint("SHA256:" + kFp).ok());
}

TEST(Cmdline, LaterKeysWin) {
  auto keys = droverKeys("drover.node=a drover.node=b drover.flag");
  EXPECT_EQ(keys["drover.node"], "b");
  EXPECT_EQ(keys.count("drover.flag"), 1u);
}

}  // namespace
}  // namespace drover::agent
