// Bodies and paths a careless or hostile client sends: bad JSON, oversized bodies,
// unknown routes and methods, path tricks against the asset and loader routes; and the
// asset features firmware and the agent rely on (Range, ETag, HEAD).
#include <sys/stat.h>

#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(ServeTest, BadBodiesAreRefusedWithTheErrorShape) {
  const auto cred = credentialFor(kMac1);
  for (std::string body : {"{not json", "[1,2,3]", "\"a string\"", "", "{\"phase\": 42}"}) {
    auto r = apiCall("POST", "/v1/agent/events", cred, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_TRUE(r.json().contains("error")) << r.body;
  }
  for (std::string body : {"{not json", "[]"}) {
    EXPECT_EQ(apiCall("POST", "/v1/agent/register", cred, body).status, 400) << body;
    EXPECT_EQ(apiCall("POST", "/v1/agent/exchange", "", body).status, 400) << body;
  }
  // A phase the state machine refuses here is a conflict, not a crash.
  EXPECT_EQ(event(cred, "joined").status, 409);
}

TEST_F(ServeTest, OversizedBodyIs413) {
  const auto cred = credentialFor(kMac1);
  std::string big = "{\"pad\":\"" + std::string(2 * 1024 * 1024, 'x') + "\"}";
  auto r = apiCall("POST", "/v1/agent/register", cred, big);
  EXPECT_EQ(r.status, 413) << r.error;
  // The boot server takes tiny bodies only.
  auto b = perform({.method = "POST",
                    .url = app_->http() + "/boot.ipxe",
                    .headers = {"Expect: 100-continue"},
                    .body = std::string(200 * 1024, 'x')});
  EXPECT_EQ(b.status, 413);
}

TEST_F(ServeTest, UnknownRoutesAre404AndWrongMethods405) {
  EXPECT_EQ(get("/no/such/route").status, 404);
  EXPECT_EQ(get("/nothing-here.efi").status, 404);
  EXPECT_EQ(apiCall("GET", "/v1/nope", app_->operatorToken()).status, 404);
  EXPECT_EQ(apiCall("GET", "/v1/nodes/node-1/reinstall", app_->operatorToken()).status, 405);
  EXPECT_EQ(apiCall("DELETE", "/v1/nodes", app_->operatorToken()).status, 405);
  EXPECT_EQ(apiCall("GET", "/v1/agent/exchange", "").status, 405);
  auto r = perform({.method = "POST", .url = app_->http() + "/boot.ipxe", .body = "x"});
  EXPECT_EQ(r.status, 405);
  EXPECT_THAT(r.header("allow"), HasSubstr("GET"));
  EXPECT_EQ(perform({.method = "DELETE", .url = app_->http() + "/assets/boot-env/kernel"}).status, 405);
}

class HostilePathTest : public ServeTest {
 protected:
  void SetUp() override {
    ServeTest::SetUp();
    // A secret beside the site, one inside the images folder's parent, and a declared
    // artifact that is a symlink pointing at the secret.
    writeFile(dir_.path() / "secret.txt", kSecret);
    writeFile(dir_.path() / "images/.hidden", kSecret);
    writeFile(dir_.path() / "tftp/secret.txt", kSecret);
    std::filesystem::create_symlink(dir_.path() / "secret.txt", dir_.path() / "images/evil");
    auto yaml = clusterYaml(dir_.path());
    const std::string from = "images/os.raw";
    yaml.replace(yaml.find(from), from.size(), "images/evil");
    writeFile(config_, yaml);
    ASSERT_TRUE(app_->app().reload().ok());
  }
  static constexpr std::string_view kSecret = "TOP-SECRET-7f3a";
};

TEST_F(HostilePathTest, NeverServesAPlantedSecret) {
  const std::string abs = (dir_.path() / "secret.txt").string();
  const std::vector<std::string> paths = {
      "/assets/../secret.txt",
      "/assets/boot-env/../../secret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt",
      "/assets/boot-env/%2e%2e%2f%2e%2e%2fsecret.txt",
      "/assets/..%2f..%2fsecret.txt/kernel",
      "/assets/boot-env/kernel%00.txt",
      "/assets/boot-env/kernel/../../../secret.txt",
      "/assets/os/disk",  // the symlinked artifact
      "/assets/os/..%5c..%5csecret.txt",
      "/assets/boot-env\\..\\..\\secret.txt/kernel",
      "/assets/" + abs + "/kernel",
      "/assets/%2f" + abs.substr(1) + "/kernel",
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2e%2e%2fsecret.txt",
      "/..%2fsecret.txt",
      "/secret.txt",
      "/" + abs,
      "//" + abs,
      "/%2f" + abs.substr(1),
      "/..\\secret.txt",
      "/..%5csecret.txt",
      "/secret.txt%00",
      "/secret.txt%00ipxe.efi",
      "/.hidden",
      "/images/.hidden",
      "/boot.ipxe/../secret.txt",
      "/%252e%252e/secret.txt",
      "/ipxe.efi/../../secret.txt",
      "/ipxe.efi%2f..%2f..%2fsecret.txt",
  };
  const auto http = app_->app().endpointForTest("http");
  std::vector<std::string> all = paths;
  all.push_back(std::string("/assets/boot-env/kernel\0/../../secret.txt", 41));  // a raw NUL
  all.push_back(std::string("/secret.txt\0ipxe.efi", 20));
  for (const auto& p : all) {
    for (const char* method : {"GET", "HEAD"}) {
      auto [status, reply] = rawRequest(http, method, p);
      EXPECT_THAT(reply, Not(HasSubstr(std::string(kSecret)))) << method << " " << p;
      EXPECT_TRUE(status == 400 || status == 404) << method << " " << p << " -> " << status;
    }
    // And through a real client, where it can send the path at all.
    auto r = perform({.url = app_->http() + p, .path_as_is = true});
    EXPECT_THAT(r.body, Not(HasSubstr(std::string(kSecret)))) << p;
  }
  // The declared symlink is refused outright.
  EXPECT_EQ(get("/assets/os/disk").status, 404);
}

TEST_F(ServeTest, AssetsSupportRangeEtagAndHead) {
  auto full = get("/assets/boot-env/kernel");
  ASSERT_EQ(full.status, 200);
  EXPECT_EQ(full.body, kKernelBytes);
  EXPECT_EQ(full.header("accept-ranges"), "bytes");

  auto part = get("/assets/boot-env/kernel", {"Range: bytes=7-12"});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, kKernelBytes.substr(7, 6));
  EXPECT_THAT(part.header("content-range"), HasSubstr("bytes 7-12/" + std::to_string(kKernelBytes.size())));

  auto tail = get("/assets/boot-env/kernel", {"Range: bytes=-4"});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, kKernelBytes.substr(kKernelBytes.size() - 4));

  auto bad = get("/assets/boot-env/kernel", {"Range: bytes=1000-2000"});
  EXPECT_EQ(bad.status, 416);

  // The disk's ETag is its declared sha256; a matching If-None-Match is a 304.
  auto disk = get("/assets/os/disk");
  ASSERT_EQ(disk.status, 200);
  EXPECT_EQ(disk.header("etag"), "\"" + std::string(64, 'a') + "\"");
  auto cached = get("/assets/os/disk", {"If-None-Match: \"" + std::string(64, 'a') + "\""});
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_EQ(get("/assets/os/disk", {"If-None-Match: \"other\""}).status, 200);

  auto head = perform({.method = "HEAD", .url = app_->http() + "/assets/boot-env/initrd"});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "100000");
  EXPECT_TRUE(head.body.empty());

  EXPECT_EQ(get("/assets/boot-env/disk").status, 404);   // the image has no disk
  EXPECT_EQ(get("/assets/boot-env/rootfs").status, 404);  // no such kind
  EXPECT_EQ(get("/assets/nope/kernel").status, 404);
}

TEST_F(ServeTest, LoadersComeFromTheTftpRoot) {
  writeFile(dir_.path() / "tftp/ipxe.efi", "EFI-LOADER");
  auto r = get("/ipxe.efi");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "EFI-LOADER");
  // Only the declared loader names are served from there.
  writeFile(dir_.path() / "tftp/other.bin", "OTHER");
  EXPECT_EQ(get("/other.bin").status, 404);
}

}  // namespace
}  // namespace drover::server::testing
