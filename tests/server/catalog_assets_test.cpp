// A boot environment declared by URL: `drover serve` fetches the kernel into its image
// catalog on first use (checked against the declared sha256) and serves it at
// /assets/{image}/kernel with the digest as its ETag; content that does not match the
// declared digest is never served. /blobs/sha256/{digest} serves what the catalog holds to
// other replicas, and nothing else.
#include <openssl/sha.h>

#include <fmt/format.h>

#include "common/hex.hpp"
#include "tests/server/serve_fixture.hpp"
#include "tests/support/netns.hpp"

namespace drover::server::testing {
namespace {

using drover::dhcp::test::Process;
using drover::dhcp::test::waitFor;

std::string sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return toHex(digest);
}

class CatalogAssetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* src = std::getenv("DROVER_SOURCE_DIR");
    ASSERT_NE(src, nullptr);
    makeSite(dir_.path());
    writeFile(dir_.path() / "upstream/vmlinuz", kUpstreamKernel);
    const auto log = (dir_.path() / "upstream.log").string();
    upstream_ = std::make_unique<Process>(
        std::vector<std::string>{"python3", std::string(src) + "/tests/images/image_server.py",
                                 (dir_.path() / "upstream").string()},
        log);
    ASSERT_TRUE(waitFor([&] { return !drover::dhcp::test::readFile(log).empty(); }));
    port_ = std::stoi(drover::dhcp::test::readFile(log));
  }

  // The site's declaration with the boot environment's kernel fetched from the upstream.
  void serveWithKernelDigest(const std::string& sha) {
    auto yaml = clusterYaml(dir_.path());
    const std::string local = "kernel: { path: images/vmlinuz }";
    yaml.replace(yaml.find(local), local.size(),
                 fmt::format("kernel: {{ url: \"http://127.0.0.1:{}/vmlinuz\", sha256: \"{}\" }}",
                             port_, sha));
    writeFile(dir_.path() / "cluster.yaml", yaml);
    app_ = std::make_unique<RunningApp>(dir_.path() / "cluster.yaml");
    ASSERT_TRUE(app_->ok());
  }

  Reply get(const std::string& path) { return perform({.url = app_->http() + path}); }

  static constexpr std::string_view kUpstreamKernel = "UPSTREAM-KERNEL-fedcba9876543210";
  TempDir dir_;
  std::unique_ptr<Process> upstream_;
  int port_ = 0;
  std::unique_ptr<RunningApp> app_;
};

TEST_F(CatalogAssetsTest, UrlDeclaredKernelIsFetchedOnceAndServedWithItsDigest) {
  const auto sha = sha256Hex(kUpstreamKernel);
  serveWithKernelDigest(sha);
  for (int i = 0; i < 2; ++i) {  // the second request is served from the catalog
    auto r = get("/assets/boot-env/kernel");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, kUpstreamKernel);
    EXPECT_THAT(r.headers["etag"], ::testing::HasSubstr(sha));
  }
  // The script points at it as usual.
  auto s = get(std::string("/boot.ipxe?mac=") + kMac1 + "&uuid=&arch=x86_64&platform=pcbios");
  EXPECT_THAT(s.body, ::testing::HasSubstr("/assets/boot-env/kernel"));
}

TEST_F(CatalogAssetsTest, ContentThatDoesNotMatchTheDeclaredDigestIsNotServed) {
  serveWithKernelDigest(std::string(64, 'b'));
  auto r = get("/assets/boot-env/kernel");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.body.find(kUpstreamKernel), std::string::npos);
}

TEST_F(CatalogAssetsTest, TheBlobEndpointServesOnlyBlobsTheCatalogHoldsByTheirDigest) {
  const auto sha = sha256Hex(kUpstreamKernel);
  serveWithKernelDigest(sha);
  EXPECT_EQ(get("/blobs/sha256/" + sha).status,
            404);  // not fetched yet, and not fetched for the caller
  ASSERT_EQ(get("/assets/boot-env/kernel").status, 200);
  auto r = get("/blobs/sha256/" + sha);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, kUpstreamKernel);
  EXPECT_EQ(get("/blobs/sha256/" + std::string(64, 'c')).status, 404);
  EXPECT_EQ(get("/blobs/sha256/..%2f..%2fstate.db").status, 404);
  EXPECT_EQ(get("/blobs/sha256/" + sha.substr(0, 12)).status, 404);
}

}  // namespace
}  // namespace drover::server::testing
