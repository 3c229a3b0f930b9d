// Disks that boot, from an image's tree (drover images build): the kernel found in the
// tree, and the disk read back with the real tools (sfdisk, mtools, blkid, debugfs): GPT with
// an ESP marked for BIOS boot holding the kernel, syslinux and shim + GRUB, the MBR's boot
// code, and an ext4 root whose fstab names both filesystems by UUID. The machines that boot
// such a disk are in the e2e label (tests/e2e/scenarios.sh built-image).
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "images/oci/oci_import.hpp"
#include "images/verify/signature.hpp"
#include "tests/images/shell.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;
using test::output;
using ::testing::HasSubstr;

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string slurp(const fs::path& p) {
  return verify::readSmallFile(p).valueOr(std::string("<missing>"));
}

TEST(VersionOrder, ComparesDigitRunsAsNumbers) {
  EXPECT_TRUE(versionLess("6.1.0-9-cloud-amd64", "6.1.0-10-cloud-amd64"));
  EXPECT_TRUE(versionLess("5.10.0-28-amd64", "6.1.0-1-amd64"));
  EXPECT_TRUE(versionLess("6.1", "6.1.0"));
  EXPECT_TRUE(versionLess("6.9.0", "6.10.0"));
  EXPECT_FALSE(versionLess("6.10.0", "6.9.0"));
  EXPECT_FALSE(versionLess("6.1.0", "6.1.0"));
  EXPECT_TRUE(versionLess("6.01.0", "6.2.0"));
}

class KernelSearch : public ::testing::Test {
 protected:
  test::TempDir dir_{"oci-kernel"};
  fs::path root_ = dir_.path();
};

TEST_F(KernelSearch, NewestDebianKernelWithItsInitramfs) {
  put(root_ / "boot/vmlinuz-6.1.0-9-cloud-amd64", "old");
  put(root_ / "boot/initrd.img-6.1.0-9-cloud-amd64", "old initrd");
  put(root_ / "boot/vmlinuz-6.1.0-28-cloud-amd64", "new");
  put(root_ / "boot/initrd.img-6.1.0-28-cloud-amd64", "new initrd");
  put(root_ / "boot/config-6.1.0-28-cloud-amd64", "");
  auto k = findKernel(root_);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->version, "6.1.0-28-cloud-amd64");
  EXPECT_EQ(k->kernel, root_ / "boot/vmlinuz-6.1.0-28-cloud-amd64");
  EXPECT_EQ(k->initrd, root_ / "boot/initrd.img-6.1.0-28-cloud-amd64");
}

TEST_F(KernelSearch, FedoraAndImageModeLayouts) {
  put(root_ / "boot/vmlinuz-6.8.5-301.fc40.x86_64", "k");
  put(root_ / "boot/initramfs-6.8.5-301.fc40.x86_64.img", "i");
  auto k = findKernel(root_);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->initrd.filename(), "initramfs-6.8.5-301.fc40.x86_64.img");

  fs::remove_all(root_ / "boot");
  put(root_ / "usr/lib/modules/6.8.5/vmlinuz", "k");
  put(root_ / "usr/lib/modules/6.8.5/initramfs.img", "i");
  k = findKernel(root_);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->version, "6.8.5");
  EXPECT_EQ(k->initrd, root_ / "usr/lib/modules/6.8.5/initramfs.img");
}

TEST_F(KernelSearch, NoKernelNoInitramfsAndLinksAreErrors) {
  auto k = findKernel(root_);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, "no_kernel");
  EXPECT_THAT(k.error().message, HasSubstr("linux-image-cloud-amd64"));

  put(root_ / "boot/vmlinuz-6.1.0-28-cloud-amd64", "k");
  k = findKernel(root_);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, "no_initrd");
  EXPECT_THAT(k.error().message, HasSubstr("6.1.0-28-cloud-amd64"));

  // A link is never followed: it could name a file outside the image's tree.
  fs::remove_all(root_ / "boot");
  put(root_ / "outside", "host file");
  fs::create_directories(root_ / "boot");
  fs::create_symlink(root_ / "outside", root_ / "boot/vmlinuz-6.1.0-1-amd64");
  fs::create_symlink(root_ / "outside", root_ / "boot/initrd.img-6.1.0-1-amd64");
  k = findKernel(root_);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, "no_kernel");
}

class BootableDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& f : {options_.shim, options_.grub_efi, options_.gpt_mbr})
      if (!fs::exists(f)) GTEST_SKIP() << f << " missing (scripts/packages/e2e.txt)";
    for (const char* tool : {"mkfs.vfat", "mcopy", "syslinux", "blkid", "debugfs"})
      if (test::run(std::string("command -v ") + tool) != 0) GTEST_SKIP() << tool << " missing";
    put(root_ / "etc/os-release", "ID=test\n");
    put(root_ / "etc/fstab", "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n");
    put(root_ / "boot/vmlinuz-6.1.0-28-cloud-amd64", std::string(300000, 'k'));
    put(root_ / "boot/initrd.img-6.1.0-28-cloud-amd64", std::string(200000, 'i'));
    put(root_ / "usr/bin/tool", "#!/bin/sh\n");
    options_.root_uuid = "0b9c6a3e-5d1f-4e2a-9c47-2f6f1d0e8a11";
    options_.esp_serial = "1a2b3c4d";
    options_.cmdline = "console=ttyS0 panic=-1";
  }
  // One partition's bytes, cut out of the disk.
  fs::path extract(int number, const std::string& table) {
    const auto line =
        output("echo '" + table + "' | grep '^" + disk_.string() + std::to_string(number) + " '");
    const auto start = std::stoull(line.substr(line.find("start=") + 6));
    const auto size = std::stoull(line.substr(line.find("size=") + 5));
    const auto out = dir_.path() / ("part" + std::to_string(number));
    EXPECT_EQ(test::run("dd if=" + disk_.string() + " of=" + out.string() +
                        " bs=512 skip=" + std::to_string(start) + " count=" + std::to_string(size)),
              0);
    return out;
  }

  test::TempDir dir_{"oci-boot"};
  fs::path root_ = dir_.path() / "root";
  fs::path disk_ = dir_.path() / "disk.raw";
  BootOptions options_;
};

TEST_F(BootableDiskTest, GptWithEspForBiosAndUefiAndRootByUuid) {
  fs::create_directories(dir_.path() / "work");
  auto d = writeBootableDisk(root_, disk_, dir_.path() / "work", options_);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->kernel.version, "6.1.0-28-cloud-amd64");
  EXPECT_EQ(d->esp_serial, "1A2B-3C4D");
  EXPECT_EQ(d->cmdline, "root=UUID=0b9c6a3e-5d1f-4e2a-9c47-2f6f1d0e8a11 ro console=ttyS0 panic=-1");

  const std::string table = output("sfdisk -d " + disk_.string());
  EXPECT_THAT(table, HasSubstr("label: gpt"));
  EXPECT_THAT(table, HasSubstr("type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
  EXPECT_THAT(table, HasSubstr("attrs=\"LegacyBIOSBootable\""));
  EXPECT_THAT(table, HasSubstr("type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"));
  EXPECT_THAT(table, HasSubstr("start=        2048"));
  // The BIOS boot code of syslinux's GPT MBR, the table's protective entry kept after it.
  EXPECT_EQ(output("head -c 440 " + disk_.string() + " | cmp - " + options_.gpt_mbr.string() +
                   " && echo same"),
            "same\n");

  const auto esp = extract(1, table);
  EXPECT_THAT(output("blkid -o export " + esp.string()), HasSubstr("UUID=1A2B-3C4D"));
  const std::string files = output("mdir -i " + esp.string() + " -/ -a -b ::/");
  for (const char* f :
       {"::/vmlinuz", "::/initrd.img", "::/syslinux.cfg", "::/ldlinux.sys",
        "::/EFI/BOOT/BOOTX64.EFI", "::/EFI/BOOT/grubx64.efi", "::/EFI/BOOT/grub.cfg"})
    EXPECT_THAT(files, HasSubstr(f)) << files;
  EXPECT_EQ(output("mtype -i " + esp.string() + " ::/vmlinuz | wc -c"), "300000\n");
  EXPECT_EQ(output("mtype -i " + esp.string() + " ::/EFI/BOOT/BOOTX64.EFI | cmp - " +
                   options_.shim.string() + " && echo same"),
            "same\n");
  const std::string syslinux = output("mtype -i " + esp.string() + " ::/syslinux.cfg");
  EXPECT_THAT(syslinux, HasSubstr("KERNEL /vmlinuz"));
  EXPECT_THAT(syslinux, HasSubstr("APPEND " + d->cmdline));
  const std::string grub = output("mtype -i " + esp.string() + " ::/EFI/BOOT/grub.cfg");
  EXPECT_THAT(grub, HasSubstr("linux /vmlinuz " + d->cmdline));
  EXPECT_THAT(grub, HasSubstr("initrd /initrd.img"));

  const auto root = extract(2, table);
  const std::string ids = output("blkid -o export " + root.string());
  EXPECT_THAT(ids, HasSubstr("UUID=0b9c6a3e-5d1f-4e2a-9c47-2f6f1d0e8a11"));
  EXPECT_THAT(ids, HasSubstr("TYPE=ext4"));
  const std::string fstab = output("debugfs -R 'cat /etc/fstab' " + root.string() + " 2>/dev/null");
  EXPECT_THAT(fstab, HasSubstr("UUID=0b9c6a3e-5d1f-4e2a-9c47-2f6f1d0e8a11 / ext4"));
  EXPECT_THAT(fstab, HasSubstr("UUID=1A2B-3C4D /boot/efi vfat"));
  EXPECT_THAT(output("debugfs -R 'ls -l /boot' " + root.string() + " 2>/dev/null"),
              HasSubstr("efi"));
  EXPECT_THAT(output("debugfs -R 'cat /usr/bin/tool' " + root.string() + " 2>/dev/null"),
              HasSubstr("#!/bin/sh"));
}

TEST_F(BootableDiskTest, FreeSpaceAsAskedAndRandomIdsWhenNoneGiven) {
  options_.root_uuid.clear();
  options_.esp_serial.clear();
  options_.free_bytes = 100 << 20;
  auto d = writeBootableDisk(root_, disk_, dir_.path(), options_);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_THAT(d->root_uuid,
              ::testing::MatchesRegex(
                  "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_THAT(d->esp_serial, ::testing::MatchesRegex("[0-9A-F]{4}-[0-9A-F]{4}"));
  const std::string table = output("sfdisk -d " + disk_.string());
  const auto root = extract(2, table);
  EXPECT_GE(fs::file_size(root), 100u << 20);
  EXPECT_LT(fs::file_size(root), 110u << 20);
}

TEST_F(BootableDiskTest, MissingLoaderFilesAndKernelAreClearErrors) {
  options_.shim = dir_.path() / "no-shim.efi";
  auto d = writeBootableDisk(root_, disk_, dir_.path(), options_);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, "missing_file");
  EXPECT_THAT(d.error().message, HasSubstr("no-shim.efi"));
  EXPECT_THAT(d.error().message, HasSubstr("shim-signed"));

  options_ = BootOptions{};
  fs::remove_all(root_ / "boot");
  d = writeBootableDisk(root_, disk_, dir_.path(), options_);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, "no_kernel");
  EXPECT_EQ(slurp(root_ / "etc/fstab"), "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n")
      << "nothing written";

  options_.esp_serial = "xyz";
  put(root_ / "boot/vmlinuz-1", "k");
  put(root_ / "boot/initrd.img-1", "i");
  d = writeBootableDisk(root_, disk_, dir_.path(), options_);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, "bad_serial");
}

}  // namespace
}  // namespace drover::images::oci
