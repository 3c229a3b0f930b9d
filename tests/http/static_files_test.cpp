// Static files on loopback: hostile paths never reach a planted secret, and a 100 MiB
// sparse file arrives byte-exact through sendfile.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "http/static_files.hpp"
#include "tests/http/test_support.hpp"

namespace drover::http {
namespace {

using namespace drover::http::testing;
namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() / "root";
    fs::create_directories(root_ / "sub");
    writeFile(root_ / "ok.txt", "fine");
    writeFile(root_ / "sub" / "inner.txt", "inner");
    writeFile(root_ / ".hidden", "TOPSECRET");
    writeFile(tmp_.path() / "secret.txt", "TOPSECRET");
    fs::create_symlink(tmp_.path() / "secret.txt", root_ / "link");
    fs::create_symlink("../secret.txt", root_ / "rellink");
    fs::create_symlink(tmp_.path(), root_ / "dirlink");
    fs::create_symlink("ok.txt", root_ / "inside-link");  // even inside the root: refused
    ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0600), 0);
  }
  Router router() {
    Router r;
    auto root = StaticRoot::open(root_);
    EXPECT_TRUE(root.ok());
    r.addPrefix(Verb::get, "/files", root->handler([](const std::string& rel) {
      return rel == "ok.txt" ? std::string("0123abcd") : std::string();
    }));
    return r;
  }
  std::string get(std::uint16_t port, std::string_view target) {
    RawClient c(port);
    EXPECT_TRUE(c.send("GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    return c.readUntilClose();
  }

  TempDir tmp_;
  fs::path root_;
};

TEST_F(StaticFilesTest, ServesFilesInsideTheRoot) {
  TestServer srv(router());
  std::string ok = get(srv.port(), "/files/ok.txt");
  EXPECT_EQ(ok.find("HTTP/1.1 200"), 0u);
  EXPECT_NE(ok.find("\r\n\r\nfine"), std::string::npos);
  EXPECT_NE(ok.find("ETag: \"0123abcd\""), std::string::npos);  // caller-supplied checksum
  EXPECT_NE(get(srv.port(), "/files/sub/inner.txt").find("\r\n\r\ninner"), std::string::npos);
  EXPECT_NE(get(srv.port(), "/files/sub/../ok.txt").find("\r\n\r\nfine"), std::string::npos);
  EXPECT_NE(get(srv.port(), "/files/sub%2Finner.txt").find("HTTP/1.1 400"), std::string::npos);
}

TEST_F(StaticFilesTest, HostilePathsNeverReachTheSecret) {
  TestServer srv(router());
  const std::string long_name(300, 'a');
  std::string deep;
  for (int i = 0; i < 150; ++i) deep += "sub/";
  const std::vector<std::string> corpus = {
      "/files/../secret.txt",         "/files/..%2fsecret.txt",       "/files/%2e%2e/secret.txt",
      "/files/%2E%2E%2Fsecret.txt",   "/files/sub/../../secret.txt",  "/files/sub/%2e%2e/%2e%2e/secret.txt",
      "/files/link",                  "/files/rellink",               "/files/dirlink/secret.txt",
      "/files/inside-link",           "/files/..\\secret.txt",        "/files/..%5csecret.txt",
      "/files/%5c..%5csecret.txt",    "/files/%00/../secret.txt",     "/files/ok.txt%00.png",
      "/files/%2fetc%2fpasswd",       "//files/../../secret.txt",     "/files//../secret.txt",
      "/files/.hidden",               "/files/%2ehidden",             "/files/fifo",
      "/files/sub",                   "/files/",                      "/files/" + long_name,
      "/files/" + deep + "ok.txt",    "/files/%",                     "/files/%zz",
      "/../secret.txt",               "http://x/files/../secret.txt", "/files/..;/secret.txt",
      "/files/" + (tmp_.path() / "secret.txt").string(),
  };
  for (const auto& target : corpus) {
    std::string reply = get(srv.port(), target);
    EXPECT_EQ(reply.find("TOPSECRET"), std::string::npos) << target;
    EXPECT_EQ(reply.find("HTTP/1.1 200"), std::string::npos) << target << "\n" << reply.substr(0, 40);
  }
  // curl, told not to squash the dots itself.
  auto r = run(curl() + "--path-as-is " + srv.url("/files/../secret.txt"));
  EXPECT_EQ(r.out.find("TOPSECRET"), std::string::npos);
  r = run(curl() + "--path-as-is " + srv.url("/files/dirlink/secret.txt"));
  EXPECT_EQ(r.out.find("TOPSECRET"), std::string::npos);
}

TEST_F(StaticFilesTest, HundredMebibyteSparseFileIsExact) {
  constexpr off_t kSize = 100 * 1024 * 1024;
  fs::path big = root_ / "big.img";
  {
    int fd = ::open(big.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, kSize), 0);
    std::mt19937 rng(42);
    std::string block(4096, '\0');
    for (off_t at : {off_t{0}, kSize / 2 - 100, kSize - 4096}) {
      for (auto& ch : block) ch = static_cast<char>(rng());
      ASSERT_EQ(::pwrite(fd, block.data(), block.size(), at), static_cast<ssize_t>(block.size()));
    }
    ::close(fd);
  }
  TestServer srv(router());
  auto expected = run("sha256sum < " + big.string());
  auto got = run(curl() + srv.url("/files/big.img") + " | sha256sum");
  ASSERT_EQ(expected.out.size(), got.out.size());
  EXPECT_EQ(got.out, expected.out);
  EXPECT_GE(srv.registry().valueForTest("http_bytes_sent_total", "listener=\"http\""), kSize);

  // A range in the middle, through sendfile with an offset.
  auto part_expected = run("tail -c +" + std::to_string(kSize / 2 - 1000 + 1) + " " + big.string() +
                           " | head -c 5000 | sha256sum");
  auto part = run(curl() + "-r " + std::to_string(kSize / 2 - 1000) + "-" + std::to_string(kSize / 2 + 3999) + " " +
                  srv.url("/files/big.img") + " | sha256sum");
  EXPECT_EQ(part.out, part_expected.out);
}

}  // namespace
}  // namespace drover::http
