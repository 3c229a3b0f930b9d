#include "agent/disk.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

const std::filesystem::path kInUse = test::sourceDir() / "tests/testdata/agent/inuse";

TEST(DiskInUse, MountedPartitionIsRefused) {
  auto st = checkNotInUse("sda", kInUse);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "disk_in_use");
  EXPECT_NE(st.error().message.find("/dev/sda2 is mounted on /boot"), std::string::npos);
}

TEST(DiskInUse, MountedWholeDiskIsRefused) {
  auto st = checkNotInUse("nvme0n1", kInUse);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("/data"), std::string::npos);
}

TEST(DiskInUse, HoldersAndSwapAreRefused) {
  auto dm = checkNotInUse("vdb", kInUse);
  ASSERT_FALSE(dm.ok());
  EXPECT_NE(dm.error().message.find("held by dm-0"), std::string::npos);
  auto md = checkNotInUse("vdc", kInUse);
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.error().message.find("vdc1 is held by md0"), std::string::npos);
  auto swap = checkNotInUse("vdd", kInUse);
  ASSERT_FALSE(swap.ok());
  EXPECT_NE(swap.error().message.find("swap"), std::string::npos);
}

TEST(DiskInUse, IdleDiskPasses) {
  EXPECT_TRUE(checkNotInUse("vde", kInUse).ok());
  EXPECT_TRUE(checkNotInUse("sdz", kInUse).ok());
  // "sd" must not match sda's partitions by prefix.
  EXPECT_TRUE(checkNotInUse("sd", kInUse).ok());
}

TEST(DiskTarget, MissingTargetIsRefused) {
  auto r = checkTarget("/dev/drover-no-such-disk", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "disk_missing");
}

TEST(DiskTarget, PlainFileIsNotABlockDevice) {
  test::TempDir tmp;
  const auto f = tmp.path() / "disk.img";
  std::ofstream(f) << "x";
  auto r = checkTarget(f, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_block_device");

  DiskCheckOptions files;
  files.require_block_device = false;
  auto ok = checkTarget(f, files);
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(ok->block);
  EXPECT_TRUE(checkTarget(tmp.path() / "new.img", files).ok());
  EXPECT_EQ(checkTarget(tmp.path(), files).error().code, "not_block_device");
}

TEST(DiskTarget, RealBlockDeviceSizeAndInUse) {
  // /dev/vda, sda or nvme0n1 on the machine running the test: it holds the running system,
  // so it is either too small for an absurd plan or in use.
  for (const char* dev : {"/dev/vda", "/dev/sda", "/dev/nvme0n1"}) {
    std::error_code ec;
    if (!std::filesystem::is_block_file(dev, ec)) continue;
    DiskCheckOptions opt;
    opt.min_bytes = ~0ull;
    auto r = checkTarget(dev, opt);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().code == "disk_too_small" || r.error().code == "stat" ||
                r.error().code == "open" || r.error().code == "ioctl")
        << r.error().code << ": " << r.error().message;
    return;
  }
  GTEST_SKIP() << "no block device to look at";
}

}  // namespace
}  // namespace drover::agent
