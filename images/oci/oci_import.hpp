// OCI image import: an OCI image layout (a directory, or an oci-archive tar such as
// `podman save --format oci-archive` writes) becomes a node image the agent can install.
//
//  1. every blob the image references (index, manifest, config, layers) is checked
//     against its digest and size;
//  2. the layers are applied in order into a root directory: whiteouts (`.wh.NAME`) delete
//     what lower layers made, an opaque marker (`.wh..wh..opq`) empties its directory of
//     lower layers' content, hard links and symlinks are kept, and no entry may escape
//     the root (`..`, absolute links are written as links, never followed);
//  3. the root is written as a tarball (pax, libarchive) and, optionally, as a raw disk:
//     ext4 made by `mkfs.ext4 -d` in one GPT partition made by `sfdisk`; or, for an image
//     that carries a kernel (`drover images build`), as a disk that boots (bootable.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/values.hpp"

namespace drover::images::oci {

struct Blob {
  std::string media_type;
  Sha256 digest;
  std::uint64_t size = 0;
};

struct Image {
  std::filesystem::path layout;  // the layout directory (extracted, for an archive)
  Blob manifest;
  Blob config;
  std::vector<Blob> layers;  // bottom first

  std::filesystem::path blobPath(const Sha256& d) const {
    return layout / "blobs" / "sha256" / d.hex();
  }
};

// Opens a layout directory, or extracts an archive into `work` first, and picks the first
// linux/amd64 (else the first) manifest. Error codes: bad_layout, bad_archive.
Result<Image> openImage(const std::filesystem::path& source, const std::filesystem::path& work);

// Checks every blob of `image` against its digest and size. Code digest_mismatch.
Status verifyBlobs(const Image& image);

// Applies one layer (tar, optionally gzip/zstd/xz compressed) onto `root`. Codes:
// bad_layer (an unsafe or unreadable entry), eio.
Status applyLayer(const std::filesystem::path& layer, const std::filesystem::path& root);

// The tree under `root` as a pax tarball. Code eio.
Status writeTarball(const std::filesystem::path& root, const std::filesystem::path& out);

// A raw GPT disk with one ext4 partition holding `root` (mkfs.ext4 -d, sfdisk). Code tool.
Status writeRawDisk(const std::filesystem::path& root, const std::filesystem::path& out,
                    const std::filesystem::path& work);

// --- bootable disks -------------------------------------------------------------------

// The kernel an image carries and its initramfs: the newest (by version) of
// /boot/vmlinuz-VERSION with /boot/initrd.img-VERSION (Debian, Ubuntu), /boot/initramfs-
// VERSION.img (Fedora) or /boot/initrd-VERSION (SUSE); else /usr/lib/modules/VERSION/vmlinuz
// with initramfs.img beside it (image-mode distributions). Both must be regular files.
// Codes: no_kernel, no_initrd.
struct KernelFiles {
  std::filesystem::path kernel;  // under the root
  std::filesystem::path initrd;
  std::string version;
};
Result<KernelFiles> findKernel(const std::filesystem::path& root);

// True when version `a` sorts before `b` (glibc's strverscmp: digit runs as numbers).
bool versionLess(std::string_view a, std::string_view b);

struct BootOptions {
  // Kernel command line after root=UUID=... ro.
  std::string cmdline = "console=tty0 console=ttyS0,115200n8";
  // UEFI: shim at \EFI\BOOT\BOOTX64.EFI starts the signed GRUB beside it (Secure Boot on
  // or off); BIOS: syslinux on the ESP, started by its GPT MBR code.
  std::filesystem::path shim = "/usr/lib/shim/shimx64.efi.signed";
  std::filesystem::path grub_efi = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
  std::filesystem::path gpt_mbr = "/usr/lib/syslinux/mbr/gptmbr.bin";
  std::uint64_t free_bytes =
      0;  // free space on the root; 0: a third of the tree and 16 MiB, at least 64 MiB
  std::string root_uuid;   // empty: a random one
  std::string esp_serial;  // 8 hex digits; empty: a random one
};

// /etc/fstab of a built disk: the root and the ESP (at /boot/efi) by UUID.
std::string fstabFor(const std::string& root_uuid, const std::string& esp_serial);

struct BootableDisk {
  KernelFiles kernel;
  std::string root_uuid;
  std::string esp_serial;  // XXXX-XXXX, as fstab and blkid write it
  std::string cmdline;     // the whole kernel command line
};

// A disk that boots on BIOS and UEFI machines from the tree under `root` (changed: its
// etc/fstab and boot/efi): GPT with an ESP (FAT32: kernel, initramfs, syslinux, shim + GRUB)
// and an ext4 root partition. Codes: no_kernel, no_initrd, missing_file, tool, eio.
Result<BootableDisk> writeBootableDisk(const std::filesystem::path& root,
                                       const std::filesystem::path& out,
                                       const std::filesystem::path& work,
                                       const BootOptions& options);

struct ImportResult {
  std::filesystem::path rootfs_tar;
  std::filesystem::path disk_raw;  // empty without a disk
  Sha256 rootfs_sha256;
  Sha256 disk_sha256;
  std::size_t layers = 0;
  std::optional<BootableDisk> boot;  // when built with BootOptions
};

// The whole import into `out_dir` (rootfs.tar, disk.raw), using `work` for scratch; with
// `boot`, disk.raw is a disk that boots (writeBootableDisk).
Result<ImportResult> importImage(const std::filesystem::path& source,
                                 const std::filesystem::path& out_dir,
                                 const std::filesystem::path& work, bool make_disk = true,
                                 const BootOptions* boot = nullptr);

}  // namespace drover::images::oci
