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
//     ext4 made by `mkfs.ext4 -d` in one GPT partition made by `sfdisk`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
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

  std::filesystem::path blobPath(const Sha256& d) const { return layout / "blobs" / "sha256" / d.hex(); }
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

struct ImportResult {
  std::filesystem::path rootfs_tar;
  std::filesystem::path disk_raw;  // empty without a disk
  Sha256 rootfs_sha256;
  Sha256 disk_sha256;
  std::size_t layers = 0;
};

// The whole import into `out_dir` (rootfs.tar, disk.raw), using `work` for scratch.
Result<ImportResult> importImage(const std::filesystem::path& source, const std::filesystem::path& out_dir,
                                 const std::filesystem::path& work, bool make_disk = true);

}  // namespace drover::images::oci
