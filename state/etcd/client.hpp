// An etcd v3 client over etcd's JSON gateway (HTTP POST of JSON to /v3/...), for the state
// store that several `drover serve` replicas will share. Blocking calls, one HTTP request
// each, through drover::curl; safe to call from several threads (one request at a time).
//
//   call                      gateway path          what it returns
//   get(key)                  /v3/kv/range          the key's value and revisions, or nullopt
//   range(prefix)             /v3/kv/range          every key under prefix (paged) and the
//                                                   revision they were all read at
//   range(prefix, options)    /v3/kv/range          the same in descending key order, keys
//                                                   only, or at most a given count
//   put(key, value, lease)    /v3/kv/put            the revision of the write
//   erase(key)                /v3/kv/deleterange    whether the key existed
//   take(key)                 /v3/kv/deleterange    the key's value as it was deleted
//                                                   (prev_kv), nullopt when absent
//   txn(compares, ok, fail)   /v3/kv/txn            which branch ran and its responses
//   createIfAbsent            /v3/kv/txn            true when the key was created
//   compareAndSwap            /v3/kv/txn            true when mod_revision matched
//   grantLease(ttl)           /v3/lease/grant       the lease id
//   keepAlive(id)             /v3/lease/keepalive   the remaining TTL, 0 when the lease is gone
//   revokeLease(id)           /v3/lease/revoke      (a lease already gone is etcd_not_found)
//   watch(prefix, ...)        /v3/watch             every change under prefix, as it happens
//   memberList()              /v3/cluster/member/list     the cluster's members
//   memberAdd(urls, learner)  /v3/cluster/member/add      the member added (its id)
//   memberRemove(id)          /v3/cluster/member/remove
//   memberPromote(id)         /v3/cluster/member/promote  (a learner not yet in sync with the
//                                                         leader: etcd_failed_precondition)
//   status()                  /v3/maintenance/status      the answering member's id, its leader
//
// Error codes: "network" / "tls" / "bad_url" (drover::curl, after every endpoint was tried
// when none could be reached), "etcd_<grpc code name>" (etcd's JSON error body, its message
// kept), "etcd_bad_response" (not the JSON etcd sends), "etcd_http" (another HTTP status);
// for a watch also "etcd_compacted" and "etcd_canceled".
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "state/etcd/members.hpp"
#include "state/etcd/wire.hpp"

namespace drover::etcd {

struct Options {
  long connect_timeout_s = 2;
  long request_timeout_s = 5;                 // each HTTP request, connecting included
  std::int64_t range_page = 1000;             // keys per /v3/kv/range request in range()
  std::size_t max_response_bytes = 64 << 20;  // a longer answer (watch: line) is an error
  std::string ca_file;                        // https endpoints: trust this CA bundle
};

// How range() reads: key order ascending or descending, at most `limit` keys (0: all), values
// left out (keys_only: KeyValue::value is empty).
struct RangeOptions {
  std::int64_t limit = 0;
  bool descending = false;
  bool keys_only = false;
};

class Client {
 public:
  // Endpoints are base URLs ("http://10.0.0.1:2379"). A request goes to the endpoint that
  // answered last; when it cannot be reached (connection refused, unresolvable, connect
  // timeout: the request was not sent), the next one is tried, each once per request.
  // Error codes: bad_url (no endpoints), bad_option (range_page not positive), curl_init.
  static Result<Client> create(std::vector<std::string> endpoints, Options options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  Result<std::optional<KeyValue>> get(const std::string& key);
  // Every key that starts with `prefix` ("" for all), in key order, read at one revision
  // (a watch from revision + 1 sees every later change). limit > 0: at most that many keys.
  Result<RangeResult> range(const std::string& prefix, std::int64_t limit = 0);
  // The same with RangeOptions; descending pages go from the last key down.
  Result<RangeResult> range(const std::string& prefix, const RangeOptions& options);
  Result<std::int64_t> put(const std::string& key, const std::string& value,
                           std::int64_t lease = 0);
  Result<bool> erase(const std::string& key);
  // Deletes `key` and returns what it held, in one request: of several callers taking the
  // same key at once, exactly one gets it, the others nullopt.
  Result<std::optional<KeyValue>> take(const std::string& key);

  Result<TxnResult> txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                        const std::vector<Op>& failure = {});
  // Puts `key` only if it does not exist (create_revision == 0).
  Result<bool> createIfAbsent(const std::string& key, const std::string& value,
                              std::int64_t lease = 0);
  // Puts `key` only if its mod_revision is `mod_revision` (0: the key does not exist).
  Result<bool> compareAndSwap(const std::string& key, std::int64_t mod_revision,
                              const std::string& value, std::int64_t lease = 0);

  Result<std::int64_t> grantLease(std::int64_t ttl_s);
  Result<std::int64_t> keepAlive(std::int64_t lease);
  Status revokeLease(std::int64_t lease);

  // Follows every change to keys under `prefix` from `start_revision` (0: from now), on its
  // own connection (the other calls go on meanwhile): `on_events` gets each batch in revision
  // order. Returns ok when `on_events` returns false or `*stop` is set (looked at about once a
  // second); etcd_compacted when start_revision is older than the compacted history; network
  // when the stream breaks (watch again from the last event's kv.mod_revision + 1).
  using OnEvents = std::function<bool(const std::vector<Event>& events)>;
  Status watch(const std::string& prefix, std::int64_t start_revision, const OnEvents& on_events,
               const std::atomic<bool>* stop = nullptr);

  // Cluster membership (state/etcd/members.hpp has what Drover decides with them).
  Result<std::vector<Member>> memberList();
  Result<Member> memberAdd(const std::vector<std::string>& peer_urls, bool learner);
  Status memberRemove(std::uint64_t id);
  Status memberPromote(std::uint64_t id);
  Result<MemberStatus> status();

 private:
  struct State;
  explicit Client(std::unique_ptr<State> state);
  // POSTs `body` to `path` on the first endpoint that can be reached; the parsed JSON answer.
  Result<nlohmann::json> call(const std::string& path, const nlohmann::json& body);

  std::unique_ptr<State> state_;
};

}  // namespace drover::etcd
