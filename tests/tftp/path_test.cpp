#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <string>

#include "tests/support/temp_dir.hpp"
#include "tftp/server/file_cache.hpp"
#include "tftp/server/path.hpp"

namespace drover::tftp {
namespace {

namespace fs = std::filesystem;
using ::drover::test::TempDir;

TEST(TftpNormalize, CleansSeparatorsAndDots) {
  EXPECT_EQ(*normalizePath("undionly.kpxe"), "undionly.kpxe");
  EXPECT_EQ(*normalizePath("/boot//vmlinuz"), "boot/vmlinuz");
  EXPECT_EQ(*normalizePath("\\boot\\grub\\.\\x.cfg"), "boot/grub/x.cfg");
  EXPECT_EQ(*normalizePath("./a/b/../c/"), "a/c");
  EXPECT_EQ(*normalizePath("a/.."
                           "/b"),
            "b");
}

TEST(TftpNormalize, RefusesHostileNames) {
  const std::pair<std::string, const char*> cases[] = {
      {"..", "escapes_root"},
      {"../etc/passwd", "escapes_root"},
      {"a/../../x", "escapes_root"},
      {"..\\..\\x", "escapes_root"},
      {"/", "empty"},
      {".", "empty"},
      {"", "empty"},
      {std::string("a\0b", 3), "nul_byte"},
      {"a\nb", "bad_char"},
      {"a\x7f", "bad_char"},
      {std::string(256, 'a'), "too_long"},
  };
  for (const auto& [name, code] : cases) {
    auto r = normalizePath(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code, code) << name;
  }
}

class TftpRootedOpen : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    secret_ = base_.write("secret.txt", "TOP SECRET outside the root\n");
    base_.write("root/hello.txt", "hello\n");
    base_.write("root/sub/deep/file.bin", "deep\n");
    base_.write("search/ipxe.bin", "ipxe from the search path\n");
    base_.write("search/hello.txt", "shadowed by the root\n");
    const auto root = base_ / "root";
    fs::create_symlink("../secret.txt", root / "escape");
    fs::create_symlink(secret_, root / "abs");
    fs::create_symlink("..", root / "dirlink");
    fs::create_symlink("../..", root / "sub/uplink");
    fs::create_symlink("/", root / "rootlink");
    fs::create_symlink("/proc/self/root/" + secret_.string(), root / "magic");
    fs::create_symlink("hello.txt", root / "inside");
    fs::create_symlink(secret_, base_ / "search/leak");
    ::mkfifo((root / "fifo").c_str(), 0600);
    ::mknod((root / "null").c_str(), S_IFCHR | 0600, makedev(1, 3));  // may fail unprivileged
    fs::create_directories(root / "emptydir");
  }

  FileCache cache() {
    auto root = RootedDir::open((base_ / "root").string());
    auto search = RootedDir::open((base_ / "search").string());
    EXPECT_TRUE(root.ok() && search.ok());
    if (GetParam()) {
      root->useWalkForTest();
      search->useWalkForTest();
    }
    std::vector<RootedDir> dirs;
    dirs.push_back(std::move(*root));
    dirs.push_back(std::move(*search));
    return FileCache(std::move(dirs));
  }

  static std::string content(const SharedFile& f) {
    std::string s(f.size(), '\0');
    auto n = f.readAt(0, std::as_writable_bytes(std::span(s)));
    EXPECT_TRUE(n.ok());
    s.resize(n.valueOr(0));
    return s;
  }

  TempDir base_;
  fs::path secret_;
};

TEST_P(TftpRootedOpen, ServesFilesInRootThenSearchPath) {
  auto c = cache();
  auto hello = c.open("hello.txt");
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(content(**hello), "hello\n");
  auto ipxe = c.open("ipxe.bin");
  ASSERT_TRUE(ipxe.ok());
  EXPECT_EQ(content(**ipxe), "ipxe from the search path\n");
  auto deep = c.open("sub/deep/file.bin");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(content(**deep), "deep\n");
  auto missing = c.open("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "not_found");
}

TEST_P(TftpRootedOpen, SharesOneDescriptorPerFile) {
  auto c = cache();
  auto a = c.open("hello.txt");
  auto b = c.open("hello.txt");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(c.openCountForTest(), 1u);
  a = makeError("x", "");
  b = makeError("x", "");
  EXPECT_EQ(c.openCountForTest(), 0u);
}

TEST_P(TftpRootedOpen, HostileNamesNeverReadOutsideTheRoot) {
  auto c = cache();
  const std::string hostile[] = {
      "../secret.txt", "/../secret.txt", "..\\secret.txt", "\\..\\secret.txt",
      "a/../../secret.txt", "./../secret.txt", "sub/deep/../../../secret.txt",
      "escape", "abs", "dirlink/secret.txt", "sub/uplink/secret.txt", "rootlink" + secret_.string(),
      "rootlink/etc/passwd", "magic", "/etc/passwd", "//secret.txt", secret_.string(),
      "%2e%2e/secret.txt", "....//secret.txt", "..../secret.txt", "leak", "fifo", "null", "emptydir",
      "sub", "hello.txt/..", std::string("hello.txt\0../secret.txt", 23), std::string(300, '.'),
      std::string(100, '/') + "../secret.txt", "sub/deep/file.bin/../../../../secret.txt",
  };
  const std::string secret = ::drover::test::readFile(secret_);
  for (const auto& name : hostile) {
    auto norm = normalizePath(name);
    if (!norm) continue;  // refused before touching the filesystem
    auto f = c.open(*norm);
    if (!f) {
      EXPECT_NE(f.error().code, "io_error") << name;
      continue;
    }
    // Anything that opens must be one of the files inside the served directories.
    EXPECT_NE(content(**f), secret) << name;
    ADD_FAILURE() << "hostile name opened a file: " << name << " -> " << *norm;
  }
}

TEST_P(TftpRootedOpen, SymlinkInsideRootFollowsOnlyWithOpenat2) {
  auto c = cache();
  auto f = c.open("inside");
  if (GetParam()) {
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, "access_denied");
  } else {
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(content(**f), "hello\n");
  }
}

TEST_P(TftpRootedOpen, RefusalInRootIsNotRetriedInSearchPath) {
  base_.write("search/escape", "should not be served\n");
  auto c = cache();
  auto f = c.open("escape");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, "access_denied");
}

TEST_P(TftpRootedOpen, TrustedSearchDirFollowsItsSymlinksButTheRootDoesNot) {
  base_.write("boot/ipxe.efi", "the real loader\n");
  fs::create_symlink(base_ / "boot/ipxe.efi", base_ / "search/ipxe.efi");
  fs::create_symlink(base_ / "boot/ipxe.efi", base_ / "root/loader.efi");
  auto root = RootedDir::open((base_ / "root").string());
  auto search = RootedDir::open((base_ / "search").string(), /*trusted=*/true);
  ASSERT_TRUE(root.ok() && search.ok());
  if (GetParam()) root->useWalkForTest();
  std::vector<RootedDir> dirs;
  dirs.push_back(std::move(*root));
  dirs.push_back(std::move(*search));
  FileCache c(std::move(dirs));
  auto f = c.open("ipxe.efi");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(content(**f), "the real loader\n");
  auto refused = c.open("loader.efi");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "access_denied");
}

INSTANTIATE_TEST_SUITE_P(OpenMethod, TftpRootedOpen, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "walk" : "openat2"; });

}  // namespace
}  // namespace drover::tftp
