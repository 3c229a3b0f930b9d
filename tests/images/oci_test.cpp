// OCI import: a hand-made layout (make_oci_layout.py) with whiteouts, an opaque directory,
// hard links and symlinks, as a directory and as an oci-archive; digests checked; the
// rootfs tarball and the raw GPT + ext4 disk read back with the real tools.
#include <gmock/gmock.h>
#include <gtest/gtest.h>


#include "images/oci/oci_import.hpp"
#include "images/verify/signature.hpp"
#include "tests/images/keys.hpp"
#include "tests/images/tree_checks.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using test::output;

std::string slurp(const fs::path& p) { return verify::readSmallFile(p).valueOr(std::string("<missing>")); }

class OciTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* src = std::getenv("DROVER_SOURCE_DIR");
    const std::string script = std::string(src ? src : ".") + "/tests/images/make_oci_layout.py";
    ASSERT_EQ(test::run("python3 " + script + " " + layout_.string() + " " + archive_.string()), 0);
  }
  void expectRoot(const fs::path& root) {
    EXPECT_EQ(slurp(root / "bin/tool"), "#!/bin/sh\necho tool\n");
    test::expectToolLinks(root);
    EXPECT_EQ(fs::read_symlink(root / "abs-link"), "/etc/os-release");
    EXPECT_FALSE(fs::exists(root / "opt/gone")) << "whiteout";
    EXPECT_EQ(slurp(root / "opt/keep/x"), "x");
    EXPECT_FALSE(fs::exists(root / "usr/lib/a")) << "opaque directory";
    EXPECT_FALSE(fs::exists(root / "usr/lib/b"));
    EXPECT_EQ(slurp(root / "usr/lib/c"), "c") << "the opaque layer's own entry stays";
    EXPECT_EQ(slurp(root / "data/f1"), "new");
    EXPECT_FALSE(fs::exists(fs::symlink_status(root / "etc/os-release"))) << "whiteout in a gzip layer";
    EXPECT_EQ(slurp(root / "newdir/file"), "fresh");
    for (const auto& e : fs::recursive_directory_iterator(root))
      EXPECT_FALSE(e.path().filename().string().starts_with(".wh.")) << e.path();
  }

  test::TempDir dir_{"oci-test"};
  fs::path layout_ = dir_.path() / "layout";
  fs::path archive_ = dir_.path() / "image.oci.tar";
};

TEST_F(OciTest, LayersApplyWithWhiteoutsOpaqueDirsAndLinks) {
  auto img = openImage(layout_, dir_.path() / "work");
  ASSERT_TRUE(img) << img.error().message;
  ASSERT_EQ(img->layers.size(), 3u);
  ASSERT_TRUE(verifyBlobs(*img));
  const fs::path root = dir_.path() / "root";
  fs::create_directories(root);
  for (const auto& l : img->layers) ASSERT_TRUE(applyLayer(img->blobPath(l.digest), fs::canonical(root)));
  expectRoot(root);
}

TEST_F(OciTest, ArchiveImportsToTarballAndRawDisk) {
  auto r = importImage(archive_, dir_.path() / "out", dir_.path() / "work");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->layers, 3u);
  expectRoot(dir_.path() / "work/rootfs");

  // The tarball, listed by GNU tar: links kept, whiteouts gone.
  const std::string list = output("tar -tvf " + r->rootfs_tar.string());
  EXPECT_THAT(list, HasSubstr("bin/tool-hard link to bin/tool"));
  EXPECT_THAT(list, HasSubstr("link-to-tool -> bin/tool"));
  EXPECT_THAT(list, HasSubstr("usr/lib/c"));
  EXPECT_THAT(list, ::testing::Not(HasSubstr(".wh.")));
  EXPECT_THAT(list, ::testing::Not(HasSubstr("usr/lib/a")));
  EXPECT_EQ(*verify::checkFile(r->rootfs_tar), r->rootfs_sha256);

  // The disk: one GPT partition at 1 MiB holding ext4 with the tree.
  const std::string table = output("sfdisk -d " + r->disk_raw.string());
  EXPECT_THAT(table, HasSubstr("label: gpt"));
  EXPECT_THAT(table, HasSubstr("start=        2048"));
  const fs::path part = dir_.path() / "part.ext4";
  ASSERT_EQ(test::run("dd if=" + r->disk_raw.string() + " of=" + part.string() + " bs=1M skip=1 count=" +
                      std::to_string(fs::file_size(r->disk_raw) / (1 << 20) - 2)),
            0);
  EXPECT_EQ(output("debugfs -R 'cat /data/f1' " + part.string() + " 2>/dev/null"), "new");
  EXPECT_EQ(output("debugfs -R 'cat /usr/lib/c' " + part.string() + " 2>/dev/null"), "c");
  EXPECT_THAT(output("debugfs -R 'stat /opt/gone' " + part.string() + " 2>&1"), HasSubstr("File not found"));
}

TEST_F(OciTest, TamperedBlobIsRefused) {
  auto img = openImage(layout_, dir_.path() / "work");
  ASSERT_TRUE(img);
  const auto victim = img->blobPath(img->layers[1].digest);
  std::string data = slurp(victim);
  data[data.size() / 2] ^= 1;
  test::writeFile(victim, data);
  auto r = importImage(layout_, dir_.path() / "out", dir_.path() / "work");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "digest_mismatch");
  EXPECT_THAT(r.error().message, HasSubstr(img->layers[1].digest.hex()));
  EXPECT_FALSE(fs::exists(dir_.path() / "out/rootfs.tar"));
}

TEST_F(OciTest, EntryLeavingTheRootIsRefused) {
  ASSERT_EQ(test::run("cd " + dir_.path().string() + " && python3 -c \"import tarfile,io; t=tarfile.open('evil.tar','w'); "
                      "i=tarfile.TarInfo('../escape'); i.size=1; t.addfile(i, io.BytesIO(b'x')); t.close()\""),
            0);
  fs::create_directories(dir_.path() / "root");
  auto st = applyLayer(dir_.path() / "evil.tar", fs::canonical(dir_.path() / "root"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "bad_layer");
  EXPECT_FALSE(fs::exists(dir_.path() / "escape"));
}

}  // namespace
}  // namespace drover::images::oci
