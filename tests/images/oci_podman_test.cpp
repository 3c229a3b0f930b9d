// OCI import of archives podman builds: a rootfs tarball imported with `podman import`,
// two more layers added by `podman build` (COPY only, so no container runs and nothing is
// pulled), saved with `podman save --format oci-archive`, then imported by Drover into a
// rootfs tarball and a raw disk. Podman keeps its storage in the test's directory (vfs
// driver), so the host's image store is not touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <fstream>

#include "images/oci/oci_import.hpp"
#include "images/verify/signature.hpp"
#include "tests/images/shell.hpp"
#include "tests/images/tree_checks.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string slurp(const fs::path& p) { return verify::readSmallFile(p).valueOr(std::string("<missing>")); }

class OciPodmanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(test::run("podman --version"), 0) << "podman is needed (scripts/packages/images.txt)";
    const fs::path base = dir_.path() / "base";
    test::writeFile(base / "etc/os-release", "ID=drover-podman-test\n");
    test::writeFile(base / "bin/tool", "#!/bin/sh\necho tool\n");
    fs::permissions(base / "bin/tool", fs::perms(0755));
    fs::create_hard_link(base / "bin/tool", base / "bin/tool-hard");
    fs::create_symlink("bin/tool", base / "link-to-tool");
    test::writeFile(base / "data/f1", "old");
    fs::last_write_time(base / "data/f1", fs::file_time_type::clock::now() - std::chrono::hours(24));
    ASSERT_EQ(test::run("tar -C " + base.string() + " -cf " + (dir_.path() / "base.tar").string() + " ."), 0);
    ASSERT_EQ(podman("import " + (dir_.path() / "base.tar").string() + " " + tag_ + "-base"), 0);

    test::writeFile(dir_.path() / "ctx/layer2/newdir/file", "fresh");
    // The replacement differs in size and the lower file is dated in the past: podman's vfs
    // driver finds a layer's changes by comparing size and mtime, and a tar keeps whole
    // seconds, so a same-size file written in the same second would be left out of the layer.
    test::writeFile(dir_.path() / "ctx/layer3/data/f1", "replaced");
    test::writeFile(dir_.path() / "ctx/Containerfile",
                    "FROM " + tag_ + "-base\nCOPY layer2/ /\nCOPY layer3/ /\n");
    ASSERT_EQ(podman("build --pull=never --network=none -t " + tag_ + " " + (dir_.path() / "ctx").string()), 0);
    ASSERT_EQ(podman("save --format oci-archive -o " + archive_.string() + " " + tag_), 0);
  }

  int podman(const std::string& args) {
    const auto& d = dir_.path();
    const std::string cmd = "podman --root " + (d / "storage").string() + " --runroot " + (d / "run").string() +
                            " --storage-driver vfs --cgroup-manager cgroupfs --events-backend none " + args;
    return test::run(cmd);
  }

  test::TempDir dir_{"oci-podman"};
  std::string tag_ = "localhost/drover-oci-test-" + std::to_string(::getpid());
  fs::path archive_ = dir_.path() / "image.oci.tar";
};

TEST_F(OciPodmanTest, ArchiveImportsLayerByLayer) {
  auto r = importImage(archive_, dir_.path() / "out", dir_.path() / "work");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->layers, 3u) << "the imported rootfs and two COPY layers";

  const fs::path root = dir_.path() / "work/rootfs";
  EXPECT_EQ(slurp(root / "etc/os-release"), "ID=drover-podman-test\n");
  EXPECT_EQ(slurp(root / "data/f1"), "replaced") << "an upper layer's file replaces the lower one";
  EXPECT_EQ(slurp(root / "newdir/file"), "fresh");
  test::expectToolLinks(root);

  const std::string list = test::output("tar -tvf " + r->rootfs_tar.string());
  EXPECT_THAT(list, HasSubstr("bin/tool-hard link to bin/tool"));
  EXPECT_THAT(list, HasSubstr("link-to-tool -> bin/tool"));
  EXPECT_THAT(list, Not(HasSubstr(".wh.")));
  EXPECT_EQ(*verify::checkFile(r->rootfs_tar), r->rootfs_sha256);

  ASSERT_FALSE(r->disk_raw.empty());
  EXPECT_THAT(test::output("sfdisk -d " + r->disk_raw.string()), HasSubstr("label: gpt"));
  const fs::path part = dir_.path() / "part.ext4";
  ASSERT_EQ(test::run("dd if=" + r->disk_raw.string() + " of=" + part.string() + " bs=1M skip=1 count=" +
                      std::to_string(fs::file_size(r->disk_raw) / (1 << 20) - 2)),
            0);
  EXPECT_EQ(test::output("debugfs -R 'cat /data/f1' " + part.string() + " 2>/dev/null"), "replaced");
  EXPECT_EQ(test::output("debugfs -R 'cat /newdir/file' " + part.string() + " 2>/dev/null"), "fresh");
}

TEST_F(OciPodmanTest, TamperedArchiveIsRefused) {
  // Flip one byte inside a layer blob of the extracted archive: the digest check fails
  // and nothing is written.
  const fs::path layout = dir_.path() / "layout";
  fs::create_directories(layout);
  ASSERT_EQ(test::run("tar -C " + layout.string() + " -xf " + archive_.string()), 0);
  auto img = openImage(layout, dir_.path() / "work");
  ASSERT_TRUE(img) << img.error().message;
  ASSERT_FALSE(img->layers.empty());
  const fs::path blob = img->blobPath(img->layers.back().digest);
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  // Invert one byte in the middle: writing a fixed byte would leave the blob as it was
  // whenever that byte was already there, and the test would prove nothing.
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    const auto at = static_cast<std::streamoff>(fs::file_size(blob) / 2);
    char c = 0;
    f.seekg(at);
    ASSERT_TRUE(f.get(c));
    f.seekp(at);
    f.put(static_cast<char>(~c));
    ASSERT_TRUE(f.flush());
  }
  verify::FileCheck same;
  same.expected = &img->layers.back().digest;
  ASSERT_FALSE(verify::checkFile(blob, same).ok()) << "the blob did not change";
  auto r = importImage(layout, dir_.path() / "out", dir_.path() / "work2");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "digest_mismatch");
  EXPECT_FALSE(fs::exists(dir_.path() / "out/rootfs.tar"));
}

}  // namespace
}  // namespace drover::images::oci
