// StateStore on etcd v3, so that several `drover serve` replicas share node records,
// timelines and tokens (docs/etcd.md). Every write is one etcd transaction; a
// read-modify-write is optimistic: it compares the record's mod_revision and tries again
// when another replica wrote first.
//
// Key layout under the prefix P (e.g. "/drover"); <name>, <mac>, <uuid> and <hash> are
// escaped: bytes outside [A-Za-z0-9._:@+=~-] become %XX, so "/" cannot nest one key in another.
//
//   key                                   value
//   P/nodes/<name>                        the node record (JSON, state/etcd/records.hpp)
//   P/node-macs/<mac>                     the name of the node with that MAC
//   P/node-uuids/<uuid>                   the name of the node with that SMBIOS UUID
//   P/timeline/<name>/<ts>-<seq>-<id>     one timeline entry (JSON); <ts> is ts_ms, 20 digits
//                                         zero-padded (negative as 0), <seq> a 12-digit counter
//                                         of the store instance, <id> 16 hex digits naming it
//   P/tokens/<hash>                       a token record (JSON)
//   P/handoffs/<name>                     the node's handoff (JSON)
//
// The index keys are written in the transaction that writes the record; a MAC or UUID that
// changes loses its index key in that transaction too (when it still names the node).
// findByMac/findByUuid follow the index and return the record only when it still has that
// MAC/UUID. Timeline entries are ordered by ts_ms, then by the order of writes of one store;
// timelines are not capped (neither are SqliteStore's). takeToken is one deleterange with
// prev_kv: of replicas taking the same token at once exactly one gets it. updateHandoff
// is optimistic like updateNode (a compare on the key's mod_revision), so of replicas
// changing one handoff at once each sees what the others wrote.
//
// Limits: etcd refuses a transaction of more than 128 operations (--max-txn-ops), so
// updateNode takes at most kMaxEntriesPerUpdate timeline entries (more: state_too_large,
// nothing written), and appendTimeline writes a longer batch in several transactions of
// 128 (each one atomic, the batch in order, but not as a whole).
//
// Error codes: those of drover::etcd (network, etcd_*), state_conflict (updateNode or
// removeNode lost kMaxAttempts races in a row), state_corrupt (a value that is not the
// JSON this store writes; the message names the key), state_too_large.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "state/etcd/client.hpp"
#include "state/store.hpp"

namespace drover::state {

class EtcdStore final : public StateStore {
 public:
  // Compare-and-swap attempts before state_conflict. With pauses of up to 64 ms, 64 attempts
  // last a second or two: enough for four writers racing on one record on a loaded
  // 2-core machine (16 were not under a sanitizer build beside other tests).
  static constexpr int kMaxAttempts = 64;
  static constexpr std::size_t kMaxTxnOps = 128;
  // A record put and up to two index puts and two index deletes share the transaction.
  static constexpr std::size_t kMaxEntriesPerUpdate = kMaxTxnOps - 5;

  // `prefix` without a trailing "/" (one is dropped); "" puts the keys at the root.
  EtcdStore(std::shared_ptr<etcd::Client> client, std::string prefix);
  // The same with a client the caller keeps alive for the store's lifetime.
  EtcdStore(etcd::Client& client, std::string prefix);

  Result<std::optional<NodeRecord>> getNode(const std::string& name) override;
  Result<std::optional<NodeRecord>> findByMac(const std::string& mac) override;
  Result<std::optional<NodeRecord>> findByUuid(const std::string& uuid) override;
  Result<std::vector<NodeRecord>> listNodes() override;
  // `fn` may run more than once (again after another replica changed the record).
  Result<NodeRecord> updateNode(const std::string& name, const UpdateFn& fn,
                                const std::vector<TimelineEntry>& entries) override;
  drover::Status appendTimeline(const std::string& name,
                                const std::vector<TimelineEntry>& entries) override;
  Result<std::vector<TimelineEntry>> timeline(const std::string& name, std::size_t limit) override;
  Result<std::map<std::string, TimelineEntry>> lastEvents() override;
  drover::Status removeNode(const std::string& name) override;
  drover::Status putToken(const TokenRecord& token) override;
  Result<std::optional<TokenRecord>> takeToken(const std::string& hash) override;
  Result<bool> claimToken(const TokenRecord& token) override;
  // Each expired token is deleted only if unchanged since it was read (compare on
  // mod_revision), so a token taken or replaced meanwhile is neither counted nor lost.
  Result<std::size_t> purgeExpiredTokens(std::int64_t now_ms) override;
  // `fn` may run more than once (again after another replica changed the handoff).
  Result<std::optional<HandoffRecord>> updateHandoff(const std::string& node,
                                                     const HandoffFn& fn) override;
  Result<std::optional<HandoffRecord>> getHandoff(const std::string& node) override;
  Result<std::vector<HandoffRecord>> listHandoffs() override;

  const std::string& prefix() const { return prefix_; }
  // The etcd keys of a node, its index entries, its timeline and a token.
  std::string nodeKey(const std::string& name) const;
  std::string macKey(const std::string& mac) const;
  std::string uuidKey(const std::string& uuid) const;
  std::string timelinePrefix(const std::string& name) const;
  std::string tokenKey(const std::string& hash) const;
  std::string handoffKey(const std::string& node) const;
  // The 16 hex digits that end this store's timeline keys (<id>).
  const std::string& instance() const { return instance_; }

  // The etcd revisions at which this store lately wrote or removed node records (the newest
  // kMaxKept), so that a watcher of P/nodes/ can tell this store's changes from others'.
  class OwnRevisions {
   public:
    static constexpr std::size_t kMaxKept = 4096;
    void add(std::int64_t revision);
    bool contains(std::int64_t revision) const;

   private:
    mutable std::mutex mu_;
    std::set<std::int64_t> revisions_;
  };
  std::shared_ptr<const OwnRevisions> ownRevisions() const { return own_; }

  // What a key under `prefix` (as given to the constructor) names, read back: the node of
  // P/nodes/<name>, and the node and writing store (<id>) of a timeline entry's key.
  // nullopt for any other key.
  struct TimelineKey {
    std::string node;
    std::string instance;
  };
  static std::optional<std::string> nodeOfKey(std::string_view prefix, std::string_view key);
  static std::optional<TimelineKey> timelineKeyOf(std::string_view prefix, std::string_view key);

 private:
  std::vector<etcd::Op> timelinePuts(const std::string& name,
                                     const std::vector<TimelineEntry>& entries);
  // Compares and operations that move the MAC and UUID index keys from `old` to `next`.
  drover::Status indexOps(const std::string& name, const std::optional<NodeRecord>& old,
                          const NodeRecord* next, std::vector<etcd::Compare>& compares,
                          std::vector<etcd::Op>& ops);
  std::mutex& lockFor(const std::string& name);
  Result<HandoffRecord> readHandoff(const etcd::KeyValue& kv) const;
  // The record at kv; state_corrupt when it is not one or its name is not the key's.
  Result<NodeRecord> readNode(const etcd::KeyValue& kv) const;

  std::shared_ptr<etcd::Client> client_;
  std::string prefix_;
  std::string instance_;  // 16 hex digits, random: the <id> of timeline keys
  std::shared_ptr<OwnRevisions> own_ = std::make_shared<OwnRevisions>();
  std::atomic<std::uint64_t> seq_{0};
  // Updates of one node from this store wait for each other rather than race in etcd.
  std::array<std::mutex, 16> locks_;
};

}  // namespace drover::state
