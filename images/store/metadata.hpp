// Where the catalog keeps what it knows about its blobs, apart from the bytes: the index of
// images, versions and digests, the sidecars of some blobs (the detached signature a blob
// was verified with, what a capture recorded about its disk), and which replicas hold a copy
// of which blob. Two implementations: FileMetadata under the store's directory (the
// default), and images::shared::EtcdMetadata (server.state.backend: etcd), which every
// replica of `drover serve` reads and writes so they agree on the catalog.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/values.hpp"
#include "images/store/index.hpp"

namespace drover::images::store {

enum class Sidecar {
  kSignature,  // raw signature bytes
  kCapture,    // JSON text
};

class Metadata {
 public:
  virtual ~Metadata() = default;

  // The index as last written (empty when there is none yet). Error codes eio, bad_index,
  // and the backend's.
  virtual Result<IndexData> read() const = 0;
  // Reads, applies `change`, and writes the result back as one step: concurrent updates
  // (other processes, other replicas) are never lost. `change` may run more than once when
  // another writer got in between; nothing is written when it fails.
  virtual Status update(const std::function<Status(IndexData&)>& change) = 0;

  virtual Status putSidecar(Sidecar kind, const Sha256& digest, const std::string& bytes) = 0;
  // nullopt when there is none.
  virtual Result<std::optional<std::string>> sidecar(Sidecar kind, const Sha256& digest) const = 0;
  virtual Status removeSidecars(const Sha256& digest) = 0;

  // Whether holders are recorded (shared metadata); when not, the calls below do nothing.
  virtual bool shared() const = 0;
  // `replica` has the blob in its store (and serves it to the others), or no longer has it.
  virtual Status addHolder(const Sha256& digest, const std::string& replica) = 0;
  virtual Status removeHolder(const Sha256& digest, const std::string& replica) = 0;
  // The replicas that said they hold the blob, by id, in id order.
  virtual Result<std::vector<std::string>> holders(const Sha256& digest) const = 0;
};

// The index in <root>/index.json (under a file lock), sidecars in <root>/signatures/<hex>.sig
// and <root>/meta/<hex>.json; no holders.
class FileMetadata final : public Metadata {
 public:
  explicit FileMetadata(std::filesystem::path root);

  Result<IndexData> read() const override;
  Status update(const std::function<Status(IndexData&)>& change) override;
  Status putSidecar(Sidecar kind, const Sha256& digest, const std::string& bytes) override;
  Result<std::optional<std::string>> sidecar(Sidecar kind, const Sha256& digest) const override;
  Status removeSidecars(const Sha256& digest) override;
  bool shared() const override { return false; }
  Status addHolder(const Sha256&, const std::string&) override { return Status::success(); }
  Status removeHolder(const Sha256&, const std::string&) override { return Status::success(); }
  Result<std::vector<std::string>> holders(const Sha256&) const override {
    return std::vector<std::string>{};
  }

 private:
  std::filesystem::path sidecarPath(Sidecar kind, const Sha256& digest) const;
  std::filesystem::path root_;
  Index index_;
};

}  // namespace drover::images::store
