// The catalog's metadata in etcd, under <prefix>/images/ (server.state.backend: etcd):
//
//   <prefix>/images/index                  the index (images, versions, digests, sizes,
//                                          sources), the JSON document of index.json,
//                                          rewritten by compare-and-swap on its revision
//   <prefix>/images/sidecars/<hex>/<kind>  signature (raw bytes) or capture (JSON)
//   <prefix>/images/holders/<hex>/<id>     replica <id> holds blob <hex> (value: its id)
//
// Holders are plain keys, not tied to the replica's lease: a replica that restarts with its
// blobs holds them again, and readers skip holders that are not alive (ha::Membership).
#pragma once

#include <memory>
#include <string>

#include "images/store/metadata.hpp"
#include "state/etcd/client.hpp"

namespace drover::images::shared {

class EtcdMetadata final : public store::Metadata {
 public:
  // `prefix` is server.state.prefix ("/drover").
  EtcdMetadata(std::shared_ptr<etcd::Client> client, std::string prefix);

  Result<store::IndexData> read() const override;
  // Compare-and-swap on the index key's revision, the change re-applied to what another
  // writer left, up to 64 times (error code conflict after that).
  Status update(const std::function<Status(store::IndexData&)>& change) override;
  Status putSidecar(store::Sidecar kind, const Sha256& digest, const std::string& bytes) override;
  Result<std::optional<std::string>> sidecar(store::Sidecar kind,
                                             const Sha256& digest) const override;
  Status removeSidecars(const Sha256& digest) override;
  bool shared() const override { return true; }
  Status addHolder(const Sha256& digest, const std::string& replica) override;
  Status removeHolder(const Sha256& digest, const std::string& replica) override;
  Result<std::vector<std::string>> holders(const Sha256& digest) const override;

 private:
  std::string indexKey() const { return prefix_ + "/images/index"; }
  std::string sidecarKey(store::Sidecar kind, const Sha256& digest) const;
  std::string holdersPrefix(const Sha256& digest) const {
    return prefix_ + "/images/holders/" + digest.hex() + "/";
  }

  std::shared_ptr<etcd::Client> client_;
  std::string prefix_;
};

}  // namespace drover::images::shared
