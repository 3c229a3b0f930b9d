#include "images/store/blob_store.hpp"

#include "common/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace drover::images::store {

namespace fs = std::filesystem;

Status syncPath(const fs::path& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return makeError("eio", path.string() + ": " + std::strerror(errno));
  if (::fsync(fd.get()) != 0)
    return makeError("eio", "fsync " + path.string() + ": " + std::strerror(errno));
  return Status::success();
}

BlobStore::BlobStore(fs::path root) : root_(std::move(root)) {}

Status BlobStore::init() const {
  std::error_code ec;
  fs::create_directories(root_ / "blobs" / "sha256", ec);
  if (!ec) fs::create_directories(tmpDir(), ec);
  if (ec) return makeError("eio", root_.string() + ": " + ec.message());
  return Status::success();
}

fs::path BlobStore::blobPath(const Sha256& digest) const {
  return root_ / "blobs" / "sha256" / digest.hex();
}

bool BlobStore::has(const Sha256& digest) const {
  std::error_code ec;
  return fs::is_regular_file(blobPath(digest), ec);
}

std::optional<std::uint64_t> BlobStore::size(const Sha256& digest) const {
  std::error_code ec;
  const auto n = fs::file_size(blobPath(digest), ec);
  if (ec) return std::nullopt;
  return n;
}

Result<Sha256> BlobStore::publish(const fs::path& tmp, const verify::FileCheck& check) {
  std::error_code ec;
  auto digest = verify::checkFile(tmp, check);
  if (!digest) {
    fs::remove(tmp, ec);
    return digest.error();
  }
  if (auto st = publishHashed(tmp, *digest); !st) return st.error();
  return *digest;
}

Status BlobStore::publishHashed(const fs::path& tmp, const Sha256& digest) {
  std::error_code ec;
  if (auto st = syncPath(tmp); !st) {
    fs::remove(tmp, ec);
    return st.error();
  }
  const fs::path dest = blobPath(digest);
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read, ec);
  fs::rename(tmp, dest, ec);
  if (ec) {
    std::error_code ignore;
    fs::remove(tmp, ignore);
    return makeError("eio", "publish " + dest.string() + ": " + ec.message());
  }
  return syncPath(dest.parent_path());
}

Status BlobStore::verify(const Sha256& digest) const {
  verify::FileCheck check;
  check.expected = &digest;
  auto got = verify::checkFile(blobPath(digest), check);
  if (!got) return got.error();
  return Status::success();
}

Status BlobStore::remove(const Sha256& digest) const {
  std::error_code ec;
  fs::remove(blobPath(digest), ec);
  if (ec) return makeError("eio", blobPath(digest).string() + ": " + ec.message());
  return Status::success();
}

std::vector<Sha256> BlobStore::list() const {
  std::vector<Sha256> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_ / "blobs" / "sha256", ec)) {
    if (auto d = Sha256::parse(e.path().filename().string()); d) out.push_back(*d);
  }
  return out;
}

}  // namespace drover::images::store
