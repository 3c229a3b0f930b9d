#include "images/store/metadata.hpp"

#include <fstream>
#include <sstream>

namespace drover::images::store {

namespace fs = std::filesystem;

FileMetadata::FileMetadata(fs::path root) : root_(std::move(root)), index_(root_ / "index.json") {}

Result<IndexData> FileMetadata::read() const {
  return index_.read();
}

Status FileMetadata::update(const std::function<Status(IndexData&)>& change) {
  return index_.update(change);
}

fs::path FileMetadata::sidecarPath(Sidecar kind, const Sha256& digest) const {
  if (kind == Sidecar::kSignature) return root_ / "signatures" / (digest.hex() + ".sig");
  return root_ / "meta" / (digest.hex() + ".json");
}

Status FileMetadata::putSidecar(Sidecar kind, const Sha256& digest, const std::string& bytes) {
  const fs::path file = sidecarPath(kind, digest);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const fs::path tmp = fs::path(file).concat(".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return makeError("eio", tmp.string() + ": write failed");
  }
  fs::rename(tmp, file, ec);
  if (ec) return makeError("eio", file.string() + ": " + ec.message());
  return Status::success();
}

Result<std::optional<std::string>> FileMetadata::sidecar(Sidecar kind, const Sha256& digest) const {
  std::ifstream in(sidecarPath(kind, digest), std::ios::binary);
  if (!in) return std::optional<std::string>{};
  std::stringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

Status FileMetadata::removeSidecars(const Sha256& digest) {
  std::error_code ec;
  fs::remove(sidecarPath(Sidecar::kSignature, digest), ec);
  fs::remove(sidecarPath(Sidecar::kCapture, digest), ec);
  return Status::success();
}

}  // namespace drover::images::store
