// A disk that boots, from a container image's tree (drover images build):
//
//   protective MBR   syslinux's gptmbr.bin: BIOS boots the partition marked
//                    LegacyBIOSBootable
//   partition 1 ESP  FAT32: /vmlinuz and /initrd.img (copied from the image), syslinux
//                    (ldlinux.sys, syslinux.cfg) for BIOS, \EFI\BOOT\BOOTX64.EFI (shim) with
//                    grubx64.efi and grub.cfg beside it for UEFI, Secure Boot or not
//   partition 2 root ext4 from the tree, its /etc/fstab naming both by UUID
//
// Both loaders boot the ESP's copy of the kernel with root=UUID=..., so a kernel upgraded
// inside an installed machine is not booted until the image is built again.
#include <string.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <random>
#include <system_error>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/hex.hpp"
#include "common/net.hpp"
#include "images/oci/disk_parts.hpp"
#include "images/oci/oci_import.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
constexpr std::string_view kRootX86_64 = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

bool regularFile(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() == fs::file_type::regular;
}

// Random bytes for the filesystems' identities (not secrets).
template <std::size_t N>
std::array<std::uint8_t, N> randomBytes() {
  std::random_device rd;
  std::array<std::uint8_t, N> b{};
  for (auto& x : b) x = static_cast<std::uint8_t>(rd());
  return b;
}

// A version 4 (random) UUID, RFC 4122 variant.
std::string randomUuid() {
  auto b = randomBytes<16>();
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  return Uuid(b).str();
}

// The ESP's content, written into `image` with mtools (no mount needed).
Status makeEsp(const fs::path& image, const std::string& serial, const KernelFiles& k,
               const BootOptions& o, const std::string& cmdline, const fs::path& work) {
  std::error_code ec;
  std::uint64_t content = 0;
  for (const auto& f : {k.kernel, k.initrd, o.shim, o.grub_efi}) content += fs::file_size(f, ec);
  // FAT32 wants about 33 MiB at least; room for the loaders' files and a kernel update.
  const std::uint64_t bytes =
      std::max<std::uint64_t>(64 * kMiB, roundMiB(content * 5 / 4 + 8 * kMiB));
  fs::remove(image, ec);
  if (!createSized(image, bytes)) return makeError("eio", image.string() + ": cannot create");
  if (auto st = runTool({"mkfs.vfat", "-F", "32", "-n", "ESP", "-i", serial, image.string()}); !st)
    return st;
  const auto grub_cfg = work / "grub.cfg", syslinux_cfg = work / "syslinux.cfg";
  if (auto st = writeFileAtomic(
          grub_cfg,
          fmt::format("set timeout=0\nlinux /vmlinuz {}\ninitrd /initrd.img\nboot\n", cmdline),
          0644);
      !st)
    return st;
  if (auto st = writeFileAtomic(
          syslinux_cfg,
          fmt::format("DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /vmlinuz\n"
                      "  INITRD /initrd.img\n  APPEND {}\n",
                      cmdline),
          0644);
      !st)
    return st;
  const std::string img = image.string();
  const std::vector<std::vector<std::string>> steps = {
      {"mmd", "-i", img, "::/EFI", "::/EFI/BOOT"},
      {"mcopy", "-i", img, k.kernel.string(), "::/vmlinuz"},
      {"mcopy", "-i", img, k.initrd.string(), "::/initrd.img"},
      {"mcopy", "-i", img, o.shim.string(), "::/EFI/BOOT/BOOTX64.EFI"},
      {"mcopy", "-i", img, o.grub_efi.string(), "::/EFI/BOOT/grubx64.efi"},
      {"mcopy", "-i", img, grub_cfg.string(), "::/EFI/BOOT/grub.cfg"},
      {"mcopy", "-i", img, syslinux_cfg.string(), "::/syslinux.cfg"},
      {"syslinux", "--install", img},
  };
  for (const auto& step : steps) {
    if (auto st = runTool(step); !st) return st;
  }
  return Status::success();
}

}  // namespace

bool versionLess(std::string_view a, std::string_view b) {
  return ::strverscmp(std::string(a).c_str(), std::string(b).c_str()) < 0;
}

Result<KernelFiles> findKernel(const fs::path& root) {
  std::vector<KernelFiles> found;
  std::error_code ec;
  for (fs::directory_iterator it(root / "boot", ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (!name.starts_with("vmlinuz-") || !regularFile(it->path())) continue;
    const auto v = name.substr(8);
    KernelFiles k{it->path(), {}, v};
    for (const auto& initrd : {"initrd.img-" + v, "initramfs-" + v + ".img", "initrd-" + v}) {
      if (regularFile(root / "boot" / initrd)) {
        k.initrd = root / "boot" / initrd;
        break;
      }
    }
    found.push_back(k);
  }
  if (found.empty()) {
    for (fs::directory_iterator it(root / "usr/lib/modules", ec), end; !ec && it != end;
         it.increment(ec)) {
      if (!regularFile(it->path() / "vmlinuz")) continue;
      KernelFiles k{it->path() / "vmlinuz", {}, it->path().filename().string()};
      if (regularFile(it->path() / "initramfs.img")) k.initrd = it->path() / "initramfs.img";
      found.push_back(k);
    }
  }
  if (found.empty())
    return makeError("no_kernel",
                     "the image carries no kernel (/boot/vmlinuz-VERSION or "
                     "/usr/lib/modules/VERSION/vmlinuz): install one in it, for example "
                     "linux-image-cloud-amd64 on Debian (docs/images.md)");
  auto newest = std::max_element(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return versionLess(a.version, b.version);
  });
  if (newest->initrd.empty())
    return makeError("no_initrd",
                     fmt::format("kernel {} has no initramfs beside it ({}): install "
                                 "initramfs-tools (or dracut) in the image",
                                 newest->version, newest->kernel.parent_path().string()));
  return *newest;
}

std::string fstabFor(const std::string& root_uuid, const std::string& esp_serial) {
  return fmt::format(
      "# Written by drover images build: the disk's own filesystems, by UUID.\n"
      "UUID={} / ext4 defaults,errors=remount-ro 0 1\n"
      "UUID={} /boot/efi vfat umask=0077 0 2\n",
      root_uuid, esp_serial);
}

Result<BootableDisk> writeBootableDisk(const fs::path& root, const fs::path& out,
                                       const fs::path& work, const BootOptions& o) {
  for (const auto& f : {o.shim, o.grub_efi, o.gpt_mbr}) {
    if (std::error_code ec; !fs::is_regular_file(f, ec))
      return makeError("missing_file",
                       f.string() +
                           " is missing (packages shim-signed, grub-efi-amd64-signed, "
                           "syslinux-common: docs/images.md)");
  }
  auto k = findKernel(root);
  if (!k) return k.error();
  BootableDisk d;
  d.kernel = *k;
  d.root_uuid = o.root_uuid.empty() ? randomUuid() : o.root_uuid;
  std::string serial = o.esp_serial.empty() ? toHex(randomBytes<4>()) : o.esp_serial;
  for (auto& c : serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (serial.size() != 8 || serial.find_first_not_of("0123456789ABCDEF") != std::string::npos)
    return makeError("bad_serial",
                     "the ESP's serial is 8 hex digits, not \"" + o.esp_serial + "\"");
  d.esp_serial = serial.substr(0, 4) + '-' + serial.substr(4);
  d.cmdline = fmt::format("root=UUID={} ro {}", d.root_uuid, o.cmdline);
  while (!d.cmdline.empty() && d.cmdline.back() == ' ') d.cmdline.pop_back();

  std::error_code ec;
  fs::create_directories(root / "etc", ec);
  fs::create_directories(root / "boot/efi", ec);
  if (auto st = writeFileAtomic(root / "etc/fstab", fstabFor(d.root_uuid, d.esp_serial), 0644); !st)
    return st.error();

  const auto esp = work / "esp.fat", rootfs = work / "root.ext4";
  if (auto st = makeEsp(esp, serial, d.kernel, o, d.cmdline, work); !st) return st.error();
  if (auto st = makeExt4(root, rootfs, ext4Bytes(root, o.free_bytes), "root", d.root_uuid); !st)
    return st.error();
  if (auto st = assembleGptDisk(out,
                                {{esp, std::string(kEspType), "ESP", "LegacyBIOSBootable"},
                                 {rootfs, std::string(kRootX86_64), "root", ""}},
                                o.gpt_mbr);
      !st)
    return st.error();
  return d;
}

}  // namespace drover::images::oci
