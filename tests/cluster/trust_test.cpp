// trust.keys and per-artifact signatures: decoded, and every mistake reported with
// file:line:col and the key path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/images/keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> messages(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.str());
  return out;
}

std::string declaration(const std::string& trust, const std::string& disk) {
  return "server:\n  advertise: 192.0.2.1\n"
         "networks:\n  - name: lan\n    subnet: 192.0.2.0/24\n" +
         trust +
         "images:\n"
         "  boot-env:\n    kernel: { path: /srv/vmlinuz }\n    initrd: { path: /srv/initrd.img }\n"
         "  os:\n    disk: " + disk + "\n"
         "profiles:\n  os:\n    install: { image: os }\n"
         "defaults:\n  profile: os\n";
}

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(test::makeKeyPair(dir_.path(), "release", "ec")); }
  std::string pub() const { return (dir_.path() / "release.pub").string(); }
  test::TempDir dir_{"trust-test"};
};

TEST_F(TrustTest, SignedUrlArtifactNeedsNoDigest) {
  auto r = loadConfigText(declaration("trust:\n  keys:\n    release: " + pub() + "\n",
                                      "{ url: \"http://192.0.2.5/os.raw\", signature: { url: "
                                      "\"http://192.0.2.5/os.raw.sig\", key: release } }"),
                          "c.yaml", ".");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  const auto& disk = *r.config->findImage("os")->disk;
  ASSERT_TRUE(disk.signature);
  EXPECT_EQ(disk.signature->key.value, "release");
  EXPECT_EQ(disk.signature->url->str(), "http://192.0.2.5/os.raw.sig");
  EXPECT_FALSE(disk.sha256);
  EXPECT_EQ(r.config->trust.keys.at("release").value, pub());
}

TEST_F(TrustTest, UnknownKeyIsReportedAtTheKey) {
  auto r = loadConfigText(declaration("", "{ path: /srv/os.raw, signature: { path: /srv/os.sig, key: nobody } }"),
                          "c.yaml", ".");
  EXPECT_THAT(messages(r),
              ElementsAre("c.yaml:11:69: images.os.disk.signature.key: key \"nobody\" is not under trust.keys"));
}

TEST_F(TrustTest, KeyFileMustBeAUsablePublicKey) {
  test::writeFile(dir_.path() / "junk.pem", "not a key");
  ASSERT_TRUE(test::makeKeyPair(dir_.path(), "ed", "ed25519"));
  auto r = loadConfigText(declaration("trust:\n  keys:\n    junk: " + (dir_.path() / "junk.pem").string() +
                                          "\n    ed: " + (dir_.path() / "ed.pub").string() +
                                          "\n    gone: /nonexistent/k.pem\n",
                                      "{ path: /srv/os.raw }"),
                          "c.yaml", ".");
  auto m = messages(r);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_THAT(m[0], HasSubstr("c.yaml:8:11: trust.keys.junk: trusted key \"junk\": "));
  EXPECT_THAT(m[1], HasSubstr("c.yaml:9:9: trust.keys.ed: trusted key \"ed\": "));
  EXPECT_THAT(m[1], HasSubstr("Ed25519"));
  EXPECT_THAT(m[2], HasSubstr("c.yaml:10:11: trust.keys.gone: trusted key \"gone\": "));
}

TEST_F(TrustTest, ShapeErrors) {
  auto r = loadConfigText(
      declaration("trust:\n  keys:\n    release: \"\"\n  other: 1\n",
                  "{ url: \"http://192.0.2.5/os.raw\", signature: { key: release } }"),
      "c.yaml", ".");
  auto m = messages(r);
  EXPECT_THAT(m, ::testing::Contains(HasSubstr("trust.other")));
  EXPECT_THAT(m, ::testing::Contains(HasSubstr("trust.keys.release")));
  EXPECT_THAT(m, ::testing::Contains(HasSubstr("images.os.disk.signature: give exactly one of path and url")));

  r = loadConfigText(declaration("", "{ url: \"http://192.0.2.5/os.raw\" }"), "c.yaml", ".");
  EXPECT_THAT(messages(r), ElementsAre(HasSubstr("a downloaded file needs a sha256 digest or a signature")));
}

}  // namespace
}  // namespace drover::cluster
