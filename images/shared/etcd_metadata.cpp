#include "images/shared/etcd_metadata.hpp"

#include <fmt/format.h>

namespace drover::images::shared {

EtcdMetadata::EtcdMetadata(std::shared_ptr<etcd::Client> client, std::string prefix)
    : client_(std::move(client)), prefix_(std::move(prefix)) {
  while (prefix_.size() > 1 && prefix_.back() == '/') prefix_.pop_back();
}

Result<store::IndexData> EtcdMetadata::read() const {
  auto kv = client_->get(indexKey());
  if (!kv) return kv.error();
  if (!*kv) return store::IndexData{};
  auto data = store::decodeIndex((*kv)->value);
  if (!data) return makeError("bad_index", indexKey() + ": " + data.error().message);
  return data;
}

Status EtcdMetadata::update(const std::function<Status(store::IndexData&)>& change) {
  constexpr int kTries = 64;
  for (int i = 0; i < kTries; ++i) {
    auto kv = client_->get(indexKey());
    if (!kv) return kv.error();
    std::int64_t revision = 0;
    store::IndexData data;
    if (*kv) {
      revision = (*kv)->mod_revision;
      auto decoded = store::decodeIndex((*kv)->value);
      if (!decoded) return makeError("bad_index", indexKey() + ": " + decoded.error().message);
      data = std::move(*decoded);
    }
    if (auto st = change(data); !st) return st;
    auto swapped = client_->compareAndSwap(indexKey(), revision, store::encodeIndex(data));
    if (!swapped) return swapped.error();
    if (*swapped) return Status::success();
  }
  return makeError("conflict",
                   fmt::format("{}: {} writers in a row got in first", indexKey(), kTries));
}

std::string EtcdMetadata::sidecarKey(store::Sidecar kind, const Sha256& digest) const {
  return prefix_ + "/images/sidecars/" + digest.hex() +
         (kind == store::Sidecar::kSignature ? "/signature" : "/capture");
}

Status EtcdMetadata::putSidecar(store::Sidecar kind, const Sha256& digest,
                                const std::string& bytes) {
  auto r = client_->put(sidecarKey(kind, digest), bytes);
  if (!r) return r.error();
  return Status::success();
}

Result<std::optional<std::string>> EtcdMetadata::sidecar(store::Sidecar kind,
                                                         const Sha256& digest) const {
  auto kv = client_->get(sidecarKey(kind, digest));
  if (!kv) return kv.error();
  if (!*kv) return std::optional<std::string>{};
  return std::optional<std::string>((*kv)->value);
}

Status EtcdMetadata::removeSidecars(const Sha256& digest) {
  auto r = client_->txn({}, {etcd::Op::erase(sidecarKey(store::Sidecar::kSignature, digest)),
                             etcd::Op::erase(sidecarKey(store::Sidecar::kCapture, digest))});
  if (!r) return r.error();
  return Status::success();
}

Status EtcdMetadata::addHolder(const Sha256& digest, const std::string& replica) {
  if (replica.empty()) return Status::success();
  auto r = client_->put(holdersPrefix(digest) + replica, replica);
  if (!r) return r.error();
  return Status::success();
}

Status EtcdMetadata::removeHolder(const Sha256& digest, const std::string& replica) {
  if (replica.empty()) return Status::success();
  auto r = client_->erase(holdersPrefix(digest) + replica);
  if (!r) return r.error();
  return Status::success();
}

Result<std::vector<std::string>> EtcdMetadata::holders(const Sha256& digest) const {
  const std::string prefix = holdersPrefix(digest);
  auto r = client_->range(prefix);
  if (!r) return r.error();
  std::vector<std::string> out;
  for (const auto& kv : r->kvs) out.push_back(kv.key.substr(prefix.size()));
  return out;
}

}  // namespace drover::images::shared
