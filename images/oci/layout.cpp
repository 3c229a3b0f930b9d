// Reading an OCI image layout: index.json -> manifest -> config and layers, and checking
// every blob against its digest.
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "images/oci/oci_import.hpp"
#include "images/verify/signature.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Result<Blob> blobOf(const json& j, const std::string& what) {
  if (!j.is_object()) return makeError("bad_layout", what + ": not a descriptor");
  const std::string digest = j.value("digest", std::string());
  if (!digest.starts_with("sha256:"))
    return makeError("bad_layout", what + ": only sha256 digests are supported");
  auto d = Sha256::parse(digest.substr(7));
  if (!d) return makeError("bad_layout", what + ": " + d.error().message);
  if (!j.contains("size") || !j["size"].is_number_unsigned())
    return makeError("bad_layout", what + ": no size");
  return Blob{j.value("mediaType", std::string()), *d, j["size"].get<std::uint64_t>()};
}

Result<json> readJson(const fs::path& p, const std::string& what) {
  auto text = verify::readSmallFile(p, 4 << 20);
  if (!text) return makeError("bad_layout", what + ": " + text.error().message);
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return makeError("bad_layout", what + ": not a JSON object");
  return j;
}

// The manifest to import from an index: linux/amd64 when platforms are given, else the first.
Result<Blob> pickManifest(const json& index, const std::string& what) {
  const auto& list = index.value("manifests", json::array());
  if (!list.is_array() || list.empty()) return makeError("bad_layout", what + ": no manifests");
  for (const auto& m : list) {
    const auto& p = m.value("platform", json::object());
    if (p.value("os", "") == "linux" && p.value("architecture", "") == "amd64")
      return blobOf(m, what);
  }
  return blobOf(list[0], what);
}

}  // namespace

Result<Image> openImage(const fs::path& source, const fs::path& work) {
  Image img;
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    img.layout = source;
  } else {
    img.layout = work / "layout";
    fs::create_directories(img.layout, ec);
    if (auto st = applyLayer(source, img.layout); !st)
      return makeError("bad_archive", source.string() + ": " + st.error().message);
  }
  auto layout = readJson(img.layout / "oci-layout", "oci-layout");
  if (!layout) return layout.error();
  auto index = readJson(img.layout / "index.json", "index.json");
  if (!index) return index.error();
  auto manifest = pickManifest(*index, "index.json");
  if (!manifest) return manifest.error();
  // A nested image index (multi-platform): one level down.
  for (int depth = 0;
       depth < 4 && manifest->media_type == "application/vnd.oci.image.index.v1+json"; ++depth) {
    if (auto st = verifyBlobs(Image{img.layout, *manifest, {}, {}}); !st) return st.error();
    auto nested = readJson(img.blobPath(manifest->digest), "nested index");
    if (!nested) return nested.error();
    manifest = pickManifest(*nested, "nested index");
    if (!manifest) return manifest.error();
  }
  img.manifest = *manifest;
  if (auto st = verifyBlobs(Image{img.layout, img.manifest, {}, {}}); !st) return st.error();
  auto m = readJson(img.blobPath(img.manifest.digest), "manifest");
  if (!m) return m.error();
  auto config = blobOf(m->value("config", json()), "manifest config");
  if (!config) return config.error();
  img.config = *config;
  const auto& layers = m->value("layers", json::array());
  if (!layers.is_array()) return makeError("bad_layout", "manifest: layers is not a list");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    auto b = blobOf(layers[i], fmt::format("manifest layer {}", i));
    if (!b) return b.error();
    img.layers.push_back(*b);
  }
  return img;
}

Status verifyBlobs(const Image& image) {
  std::vector<const Blob*> all{&image.manifest};
  if (image.config.size > 0) all.push_back(&image.config);
  for (const auto& l : image.layers) all.push_back(&l);
  for (const Blob* b : all) {
    const fs::path p = image.blobPath(b->digest);
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    if (ec) return makeError("digest_mismatch", "blob sha256:" + b->digest.hex() + " is missing");
    if (size != b->size)
      return makeError("digest_mismatch",
                       fmt::format("blob sha256:{} is {} bytes, its descriptor says {}",
                                   b->digest.hex(), size, b->size));
    verify::FileCheck check;
    check.expected = &b->digest;
    if (auto r = verify::checkFile(p, check); !r)
      return makeError("digest_mismatch",
                       "blob sha256:" + b->digest.hex() + ": " + r.error().message);
  }
  return Status::success();
}

Result<ImportResult> importImage(const fs::path& source, const fs::path& out_dir,
                                 const fs::path& work, bool make_disk, const BootOptions* boot) {
  std::error_code ec;
  fs::create_directories(work, ec);
  fs::create_directories(out_dir, ec);
  if (ec) return makeError("eio", out_dir.string() + ": " + ec.message());
  auto image = openImage(source, work);
  if (!image) return image.error();
  if (auto st = verifyBlobs(*image); !st) return st.error();
  const fs::path root = work / "rootfs";
  fs::remove_all(root, ec);
  fs::create_directories(root, ec);
  for (std::size_t i = 0; i < image->layers.size(); ++i) {
    if (auto st = applyLayer(image->blobPath(image->layers[i].digest), fs::canonical(root)); !st)
      return makeError(st.error().code,
                       fmt::format("layer {} (sha256:{}): {}", i, image->layers[i].digest.hex(),
                                   st.error().message));
  }
  ImportResult r;
  r.layers = image->layers.size();
  r.rootfs_tar = out_dir / "rootfs.tar";
  if (auto st = writeTarball(root, r.rootfs_tar); !st) return st.error();
  auto sum = verify::checkFile(r.rootfs_tar);
  if (!sum) return sum.error();
  r.rootfs_sha256 = *sum;
  if (make_disk) {
    r.disk_raw = out_dir / "disk.raw";
    if (boot) {
      auto b = writeBootableDisk(root, r.disk_raw, work, *boot);
      if (!b) return b.error();
      r.boot = std::move(*b);
    } else if (auto st = writeRawDisk(root, r.disk_raw, work); !st) {
      return st.error();
    }
    auto d = verify::checkFile(r.disk_raw);
    if (!d) return d.error();
    r.disk_sha256 = *d;
  }
  return r;
}

}  // namespace drover::images::oci
