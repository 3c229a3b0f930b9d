// etcd v3 JSON gateway messages: the values the client works with and their JSON form.
// Keys and values travel as base64, int64 fields as JSON strings, and fields holding their
// zero value (false, 0, "", []) are left out of etcd's answers. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/result.hpp"

namespace drover::etcd {

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  std::int64_t revision = 0;  // of the store when the keys were read
};

// One condition of a transaction: `target` of `key` compared with `number` (or `value` for
// Target::kValue). A key that does not exist has create/mod revision and version 0.
struct Compare {
  enum class Target { kVersion, kCreate, kMod, kValue };
  enum class Result { kEqual, kGreater, kLess, kNotEqual };
  std::string key;
  Target target = Target::kMod;
  Result result = Result::kEqual;
  std::int64_t number = 0;
  std::string value;
};

// One operation of a transaction.
struct Op {
  enum class Kind { kRange, kPut, kDelete };
  Kind kind = Kind::kRange;
  std::string key;
  std::string value;       // kPut
  std::int64_t lease = 0;  // kPut
  // Initialised here so that an Op braced from its first four fields still compiles cleanly.
  std::string range_end = {};  // kRange, kDelete: every key in [key, range_end); "": the key alone
  bool prev_kv = false;        // kDelete: the response carries the deleted keys and values

  static Op get(std::string key) { return {Kind::kRange, std::move(key), {}, 0, {}, false}; }
  static Op put(std::string key, std::string value, std::int64_t lease = 0) {
    return {Kind::kPut, std::move(key), std::move(value), lease, {}, false};
  }
  static Op erase(std::string key, bool prev_kv = false) {
    return {Kind::kDelete, std::move(key), {}, 0, {}, prev_kv};
  }
  // Every key that starts with `prefix`.
  static Op erasePrefix(std::string prefix);
};

// What one operation of a transaction came to, in the order of the operations.
struct OpResult {
  Op::Kind kind = Op::Kind::kRange;
  std::vector<KeyValue> kvs;            // kRange
  std::int64_t deleted = 0;             // kDelete
  std::vector<KeyValue> prev_kvs = {};  // kDelete with prev_kv: what was deleted
};

struct TxnResult {
  bool succeeded = false;  // the compares held and the success operations ran
  std::int64_t revision = 0;
  std::vector<OpResult> responses;
};

// One change seen by a watch.
struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // kDelete: the key and the revision of the deletion
};

// One message of a watch stream.
struct WatchResponse {
  std::int64_t revision = 0;  // of the store when the message was sent
  bool created = false;       // the watch is set up
  bool canceled = false;      // etcd ended the watch (compact_revision says why when set)
  std::int64_t compact_revision = 0;
  std::vector<Event> events;
};

// An answer that is not what etcd sends: code etcd_bad_response.
Error badResponse(std::string message);

// drover::decodeBase64 with error code etcd_bad_response when `text` is not base64
// (encoding is drover::encodeBase64).
Result<std::string> decodeBase64(std::string_view text);

// The end of the range of every key starting with `prefix`: the prefix with its last byte
// below 0xff incremented, the rest dropped; "\0" (every key) for "" or all-0xff prefixes.
std::string prefixEnd(std::string_view prefix);

nlohmann::json encodeCompare(const Compare& c);
nlohmann::json encodeOp(const Op& op);

// Decoding of answers. Each one fails with etcd_bad_response on anything but the shape etcd
// sends: a field of the wrong type, an int64 that is not a decimal, a key that is not base64.
// An absent int64 field reads as 0.
Result<std::int64_t> readInt64(const nlohmann::json& obj, std::string_view field);
Result<KeyValue> decodeKeyValue(const nlohmann::json& kv);
// The array `field` ("kvs" of a range answer, "prev_kvs" of a delete answer); absent: empty.
Result<std::vector<KeyValue>> decodeKvs(const nlohmann::json& response,
                                        std::string_view field = "kvs");
Result<TxnResult> decodeTxn(const nlohmann::json& txn_response);
// The "result" of one line of /v3/watch.
Result<WatchResponse> decodeWatch(const nlohmann::json& result);
// The error carried by a gateway error body ({"error", "message", "code"}): its code named
// "etcd_" + the gRPC code ("etcd_not_found", "etcd_unavailable", ...), its message kept;
// nullopt when `body` is not an error body.
std::optional<Error> decodeError(const nlohmann::json& body, std::string_view what);

}  // namespace drover::etcd
