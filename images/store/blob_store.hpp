// A content-addressed store of image blobs under the state directory:
//
//   <root>/blobs/sha256/<hex>   published blobs, named by their sha256, read-only
//   <root>/tmp/                 downloads in progress (<key>.partial) and their locks
//
// A blob appears under blobs/ only through publish(), which checks the sha256 (and the
// signature, when one is required) of the finished temporary file, fsyncs it, renames it
// into place and fsyncs the directory: a reader never sees a partial or unverified blob.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "common/result.hpp"
#include "common/values.hpp"
#include "images/verify/signature.hpp"

namespace drover::images::store {

class BlobStore {
 public:
  explicit BlobStore(std::filesystem::path root);

  // Creates the directories. Error code eio.
  Status init() const;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path blobPath(const Sha256& digest) const;
  std::filesystem::path tmpDir() const { return root_ / "tmp"; }
  bool has(const Sha256& digest) const;
  std::optional<std::uint64_t> size(const Sha256& digest) const;

  // Verifies `tmp` (sha256 against `check.expected` when set, the signature when
  // `check.key` is set) and moves it into the store under its digest. On any failure the
  // temporary file is removed and nothing is published. Codes: those of verify::checkFile,
  // eio.
  Result<Sha256> publish(const std::filesystem::path& tmp, const verify::FileCheck& check);

  // Moves `tmp` into the store as `digest` without reading it again: for a file whose
  // bytes were hashed as they were written (a blob fetched from another replica). On failure
  // the file is removed. Code eio.
  Status publishHashed(const std::filesystem::path& tmp, const Sha256& digest);

  // Re-hashes a published blob. Code sha256_mismatch when it no longer matches its name.
  Status verify(const Sha256& digest) const;

  Status remove(const Sha256& digest) const;
  std::vector<Sha256> list() const;

 private:
  std::filesystem::path root_;
};

// fsync of a file or a directory by path. Error code eio.
Status syncPath(const std::filesystem::path& path);

}  // namespace drover::images::store
