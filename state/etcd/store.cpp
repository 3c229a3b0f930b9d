#include "state/etcd/store.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "state/etcd/records.hpp"

namespace drover::state {
namespace {

namespace rec = etcd_records;
using etcd::Compare;
using etcd::KeyValue;
using etcd::Op;

// A name, MAC, UUID or hash as one key segment.
std::string keyPart(std::string_view s) {
  static constexpr std::string_view kKept =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@+=~-";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (kKept.find(c) != std::string_view::npos)
      out += c;
    else
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

// The inverse of keyPart.
std::string unKeyPart(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Compare modIs(std::string key, std::int64_t revision) {
  return {std::move(key), Compare::Target::kMod, Compare::Result::kEqual, revision, {}};
}

// Random, growing pauses between attempts, so racing replicas spread out.
void backoff(int attempt) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  const int cap = 1 << std::min(attempt, 6);  // up to 64 ms
  std::uniform_int_distribution<int> ms(0, cap);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
}

std::string randomId() {
  std::random_device rd;
  const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  return fmt::format("{:016x}", v);
}

// Several keys read in one request (a transaction of range operations).
Result<std::vector<std::optional<KeyValue>>> getMany(etcd::Client& client,
                                                     const std::vector<std::string>& keys) {
  std::vector<std::optional<KeyValue>> out;
  if (keys.empty()) return out;
  std::vector<Op> gets;
  for (const auto& k : keys) gets.push_back(Op::get(k));
  auto r = client.txn({}, gets);
  if (!r) return r.error();
  if (r->responses.size() != keys.size())
    return makeError("etcd_bad_response", "etcd: a txn answer with the wrong number of responses");
  for (auto& resp : r->responses) {
    if (resp.kvs.empty())
      out.emplace_back();
    else
      out.emplace_back(std::move(resp.kvs.front()));
  }
  return out;
}

}  // namespace

EtcdStore::EtcdStore(std::shared_ptr<etcd::Client> client, std::string prefix)
    : client_(std::move(client)), prefix_(std::move(prefix)), instance_(randomId()) {
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

EtcdStore::EtcdStore(etcd::Client& client, std::string prefix)
    : EtcdStore(std::shared_ptr<etcd::Client>(std::shared_ptr<void>(), &client),
                std::move(prefix)) {}

std::string EtcdStore::nodeKey(const std::string& name) const {
  return prefix_ + "/nodes/" + keyPart(name);
}
std::string EtcdStore::macKey(const std::string& mac) const {
  return prefix_ + "/node-macs/" + keyPart(mac);
}
std::string EtcdStore::uuidKey(const std::string& uuid) const {
  return prefix_ + "/node-uuids/" + keyPart(uuid);
}
std::string EtcdStore::timelinePrefix(const std::string& name) const {
  return prefix_ + "/timeline/" + keyPart(name) + "/";
}

namespace {

// `key` without "<prefix>/<dir>/", or nullopt when it does not start so.
std::optional<std::string_view> under(std::string_view prefix, std::string_view dir,
                                      std::string_view key) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (!key.starts_with(prefix)) return std::nullopt;
  key.remove_prefix(prefix.size());
  if (key.size() < dir.size() + 2 || key[0] != '/' || !key.substr(1).starts_with(dir) ||
      key[dir.size() + 1] != '/')
    return std::nullopt;
  return key.substr(dir.size() + 2);
}

}  // namespace

void EtcdStore::OwnRevisions::add(std::int64_t revision) {
  std::lock_guard lock(mu_);
  revisions_.insert(revision);
  while (revisions_.size() > kMaxKept) revisions_.erase(revisions_.begin());
}

bool EtcdStore::OwnRevisions::contains(std::int64_t revision) const {
  std::lock_guard lock(mu_);
  return revisions_.contains(revision);
}

std::optional<std::string> EtcdStore::nodeOfKey(std::string_view prefix, std::string_view key) {
  auto rest = under(prefix, "nodes", key);
  if (!rest || rest->empty() || rest->find('/') != std::string_view::npos) return std::nullopt;
  return unKeyPart(*rest);
}

std::optional<EtcdStore::TimelineKey> EtcdStore::timelineKeyOf(std::string_view prefix,
                                                               std::string_view key) {
  auto rest = under(prefix, "timeline", key);
  if (!rest) return std::nullopt;
  const auto slash = rest->find('/');
  const auto dash = rest->rfind('-');
  if (slash == 0 || slash == std::string_view::npos || dash == std::string_view::npos ||
      dash < slash)
    return std::nullopt;
  return TimelineKey{unKeyPart(rest->substr(0, slash)), std::string(rest->substr(dash + 1))};
}

std::string EtcdStore::tokenKey(const std::string& hash) const {
  return prefix_ + "/tokens/" + keyPart(hash);
}

std::string EtcdStore::handoffKey(const std::string& node) const {
  return prefix_ + "/handoffs/" + keyPart(node);
}

std::mutex& EtcdStore::lockFor(const std::string& name) {
  return locks_[std::hash<std::string>{}(name) % locks_.size()];
}

Result<std::optional<NodeRecord>> EtcdStore::getNode(const std::string& name) {
  auto kv = client_->get(nodeKey(name));
  if (!kv) return kv.error();
  if (!*kv) return std::optional<NodeRecord>();
  auto r = readNode(**kv);
  if (!r) return r.error();
  return std::optional<NodeRecord>(std::move(*r));
}

Result<NodeRecord> EtcdStore::readNode(const KeyValue& kv) const {
  auto r = rec::decodeNode(kv.key, kv.value);
  if (r && nodeKey(r->name) != kv.key)
    return rec::corrupt(kv.key, "the record is named " + r->name);
  return r;
}

Result<std::optional<NodeRecord>> EtcdStore::findByMac(const std::string& mac) {
  if (mac.empty()) return std::optional<NodeRecord>();
  auto kv = client_->get(macKey(mac));
  if (!kv) return kv.error();
  if (!*kv) return std::optional<NodeRecord>();
  auto r = getNode((*kv)->value);
  if (!r || !*r || (**r).mac == mac) return r;
  return std::optional<NodeRecord>();  // a stale index entry
}

Result<std::optional<NodeRecord>> EtcdStore::findByUuid(const std::string& uuid) {
  if (uuid.empty()) return std::optional<NodeRecord>();
  auto kv = client_->get(uuidKey(uuid));
  if (!kv) return kv.error();
  if (!*kv) return std::optional<NodeRecord>();
  auto r = getNode((*kv)->value);
  if (!r || !*r || (**r).uuid == uuid) return r;
  return std::optional<NodeRecord>();
}

Result<std::vector<NodeRecord>> EtcdStore::listNodes() {
  auto all = client_->range(prefix_ + "/nodes/");
  if (!all) return all.error();
  std::vector<NodeRecord> out;
  for (const auto& kv : all->kvs) {
    auto r = readNode(kv);
    if (!r) return r.error();
    out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(),
            [](const NodeRecord& a, const NodeRecord& b) { return a.name < b.name; });
  return out;
}

std::vector<Op> EtcdStore::timelinePuts(const std::string& name,
                                        const std::vector<TimelineEntry>& entries) {
  std::vector<Op> ops;
  const std::string dir = timelinePrefix(name);
  for (const auto& e : entries) {
    const std::string key =
        fmt::format("{}{:020}-{:012}-{}", dir, std::max<std::int64_t>(e.ts_ms, 0),
                    seq_.fetch_add(1), instance_);
    ops.push_back(Op::put(key, rec::encodeEntry(e)));
  }
  return ops;
}

drover::Status EtcdStore::indexOps(const std::string& name, const std::optional<NodeRecord>& old,
                                   const NodeRecord* next, std::vector<Compare>& compares,
                                   std::vector<Op>& ops) {
  struct Index {
    std::string old_key, new_key;
  };
  std::vector<Index> indexes;
  auto add = [&](const std::string& was, const std::string& now,
                 std::string (EtcdStore::*keyOf)(const std::string&) const) {
    indexes.push_back({was.empty() || was == now ? "" : (this->*keyOf)(was),
                       now.empty() ? "" : (this->*keyOf)(now)});
  };
  const std::string none;
  add(old ? old->mac : none, next ? next->mac : none, &EtcdStore::macKey);
  add(old ? old->uuid : none, next ? next->uuid : none, &EtcdStore::uuidKey);

  std::vector<std::string> stale;  // index keys the record no longer has
  for (const auto& i : indexes) {
    if (!i.old_key.empty()) stale.push_back(i.old_key);
    if (!i.new_key.empty()) ops.push_back(Op::put(i.new_key, name));
  }
  auto kvs = getMany(*client_, stale);
  if (!kvs) return kvs.error();
  for (std::size_t i = 0; i < stale.size(); ++i) {
    const auto& kv = (*kvs)[i];
    // Deleted only while it still names this node; the compare makes a concurrent change
    // of the index key fail the transaction, which is then tried again.
    compares.push_back(modIs(stale[i], kv ? kv->mod_revision : 0));
    if (kv && kv->value == name) ops.push_back(Op::erase(stale[i]));
  }
  return {};
}

Result<NodeRecord> EtcdStore::updateNode(const std::string& name, const UpdateFn& fn,
                                         const std::vector<TimelineEntry>& entries) {
  if (entries.size() > kMaxEntriesPerUpdate)
    return makeError("state_too_large",
                     fmt::format("node {}: {} timeline entries in one update (at most {})", name,
                                 entries.size(), kMaxEntriesPerUpdate));
  std::lock_guard lock(lockFor(name));
  const std::string key = nodeKey(name);
  auto first = client_->get(key);
  if (!first) return first.error();
  std::optional<KeyValue> cur = std::move(*first);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::optional<NodeRecord> current;
    if (cur) {
      auto r = readNode(*cur);
      if (!r) return r.error();
      current = std::move(*r);
    }
    auto next = fn(current);
    if (!next) return next.error();
    next->name = name;
    std::vector<Compare> compares{modIs(key, cur ? cur->mod_revision : 0)};
    std::vector<Op> ops{Op::put(key, rec::encodeNode(*next))};
    if (auto st = indexOps(name, current, &*next, compares, ops); !st) return st.error();
    for (auto& op : timelinePuts(name, entries)) ops.push_back(std::move(op));
    // When a compare fails, the record as it is now comes back for the next attempt.
    auto r = client_->txn(compares, ops, {Op::get(key)});
    if (!r) return r.error();
    if (r->succeeded) {
      own_->add(r->revision);
      return next;
    }
    cur.reset();
    if (!r->responses.empty() && !r->responses.front().kvs.empty())
      cur = std::move(r->responses.front().kvs.front());
    backoff(attempt);
  }
  return makeError("state_conflict",
                   fmt::format("node {}: still changing after {} attempts", name, kMaxAttempts));
}

drover::Status EtcdStore::appendTimeline(const std::string& name,
                                         const std::vector<TimelineEntry>& entries) {
  const auto ops = timelinePuts(name, entries);
  for (std::size_t at = 0; at < ops.size(); at += kMaxTxnOps) {
    const auto end =
        ops.begin() + static_cast<std::ptrdiff_t>(std::min(ops.size(), at + kMaxTxnOps));
    auto r = client_->txn({}, std::vector<Op>(ops.begin() + static_cast<std::ptrdiff_t>(at), end));
    if (!r) return r.error();
  }
  return {};
}

Result<std::vector<TimelineEntry>> EtcdStore::timeline(const std::string& name, std::size_t limit) {
  std::vector<TimelineEntry> out;
  if (limit == 0) return out;
  etcd::RangeOptions opt;
  opt.descending = true;
  opt.limit =
      static_cast<std::int64_t>(std::min<std::size_t>(limit, static_cast<std::size_t>(INT64_MAX)));
  auto r = client_->range(timelinePrefix(name), opt);
  if (!r) return r.error();
  for (auto it = r->kvs.rbegin(); it != r->kvs.rend(); ++it) {
    auto e = rec::decodeEntry(it->key, it->value);
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<std::map<std::string, TimelineEntry>> EtcdStore::lastEvents() {
  // One (paged) range over every timeline: keys sort by node, then time, so the last key
  // under a node's prefix is its latest entry.
  const std::string dir = prefix_ + "/timeline/";
  auto r = client_->range(dir);
  if (!r) return r.error();
  std::map<std::string, TimelineEntry> out;
  for (const auto& kv : r->kvs) {
    const auto slash = kv.key.find('/', dir.size());
    if (!kv.key.starts_with(dir) || slash == std::string::npos) continue;
    auto e = rec::decodeEntry(kv.key, kv.value);
    if (!e) return e.error();
    out[unKeyPart(std::string_view(kv.key).substr(dir.size(), slash - dir.size()))] = std::move(*e);
  }
  return out;
}

drover::Status EtcdStore::removeNode(const std::string& name) {
  std::lock_guard lock(lockFor(name));
  const std::string key = nodeKey(name);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto kv = client_->get(key);
    if (!kv) return kv.error();
    std::optional<NodeRecord> current;
    if (*kv) {  // a record that cannot be read is removed all the same, its index keys stay
      if (auto r = readNode(**kv)) current = std::move(*r);
    }
    std::vector<Compare> compares{modIs(key, *kv ? (**kv).mod_revision : 0)};
    std::vector<Op> ops{Op::erase(key), Op::erasePrefix(timelinePrefix(name)),
                        Op::erase(handoffKey(name))};
    if (auto st = indexOps(name, current, nullptr, compares, ops); !st) return st;
    auto r = client_->txn(compares, ops);
    if (!r) return r.error();
    if (r->succeeded) {
      own_->add(r->revision);
      return {};
    }
    backoff(attempt);
  }
  return makeError("state_conflict",
                   fmt::format("node {}: still changing after {} attempts", name, kMaxAttempts));
}

drover::Status EtcdStore::putToken(const TokenRecord& token) {
  auto r = client_->put(tokenKey(token.hash), rec::encodeToken(token));
  if (!r) return r.error();
  return {};
}

Result<std::optional<TokenRecord>> EtcdStore::takeToken(const std::string& hash) {
  auto kv = client_->take(tokenKey(hash));
  if (!kv) return kv.error();
  if (!*kv) return std::optional<TokenRecord>();
  auto t = rec::decodeToken((*kv)->key, (*kv)->value);
  if (!t) return t.error();
  return std::optional<TokenRecord>(std::move(*t));
}

Result<bool> EtcdStore::claimToken(const TokenRecord& token) {
  return client_->createIfAbsent(tokenKey(token.hash), rec::encodeToken(token));
}

Result<std::size_t> EtcdStore::purgeExpiredTokens(std::int64_t now_ms) {
  auto all = client_->range(prefix_ + "/tokens/");
  if (!all) return all.error();
  std::vector<const KeyValue*> expired;
  for (const auto& kv : all->kvs) {
    auto t = rec::decodeToken(kv.key, kv.value);
    if (!t) return t.error();
    if (t->expires_ms < now_ms) expired.push_back(&kv);
  }
  std::size_t purged = 0;
  for (std::size_t at = 0; at < expired.size(); at += kMaxTxnOps) {
    const std::size_t end = std::min(expired.size(), at + kMaxTxnOps);
    std::vector<Compare> compares;
    std::vector<Op> ops;
    for (std::size_t i = at; i < end; ++i) {
      compares.push_back(modIs(expired[i]->key, expired[i]->mod_revision));
      ops.push_back(Op::erase(expired[i]->key));
    }
    auto r = client_->txn(compares, ops);
    if (!r) return r.error();
    if (r->succeeded) {
      purged += end - at;
      continue;
    }
    // One of them changed meanwhile: each on its own.
    for (std::size_t i = at; i < end; ++i) {
      auto one = client_->txn({compares[i - at]}, {ops[i - at]});
      if (!one) return one.error();
      if (one->succeeded) ++purged;
    }
  }
  return purged;
}

Result<HandoffRecord> EtcdStore::readHandoff(const KeyValue& kv) const {
  auto h = rec::decodeHandoff(kv.key, kv.value);
  if (h && handoffKey(h->node) != kv.key)
    return rec::corrupt(kv.key, "the handoff is of node " + h->node);
  return h;
}

Result<std::optional<HandoffRecord>> EtcdStore::updateHandoff(const std::string& node,
                                                              const HandoffFn& fn) {
  std::lock_guard lock(lockFor(node));
  const std::string key = handoffKey(node);
  auto first = client_->get(key);
  if (!first) return first.error();
  std::optional<KeyValue> cur = std::move(*first);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::optional<HandoffRecord> current;
    if (cur) {
      auto h = readHandoff(*cur);
      if (!h) return h.error();
      current = std::move(*h);
    }
    auto next = fn(current);
    if (!next) return next.error();
    if (*next) (*next)->node = node;
    if (!*next && !cur) return next;  // nothing to remove
    const std::vector<Compare> compares{modIs(key, cur ? cur->mod_revision : 0)};
    const Op op = *next ? Op::put(key, rec::encodeHandoff(**next)) : Op::erase(key);
    auto r = client_->txn(compares, {op}, {Op::get(key)});
    if (!r) return r.error();
    if (r->succeeded) return next;
    cur.reset();
    if (!r->responses.empty() && !r->responses.front().kvs.empty())
      cur = std::move(r->responses.front().kvs.front());
    backoff(attempt);
  }
  return makeError("state_conflict", fmt::format("handoff of {}: still changing after {} attempts",
                                                 node, kMaxAttempts));
}

Result<std::optional<HandoffRecord>> EtcdStore::getHandoff(const std::string& node) {
  auto kv = client_->get(handoffKey(node));
  if (!kv) return kv.error();
  if (!*kv) return std::optional<HandoffRecord>();
  auto h = readHandoff(**kv);
  if (!h) return h.error();
  return std::optional<HandoffRecord>(std::move(*h));
}

Result<std::vector<HandoffRecord>> EtcdStore::listHandoffs() {
  auto all = client_->range(prefix_ + "/handoffs/");
  if (!all) return all.error();
  std::vector<HandoffRecord> out;
  for (const auto& kv : all->kvs) {
    auto h = readHandoff(kv);
    if (!h) return h.error();
    out.push_back(std::move(*h));
  }
  std::sort(out.begin(), out.end(),
            [](const HandoffRecord& a, const HandoffRecord& b) { return a.node < b.node; });
  return out;
}

}  // namespace drover::state
