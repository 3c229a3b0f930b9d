#include "state/etcd/wire.hpp"

#include <array>
#include <charconv>

#include <fmt/format.h>

namespace drover::etcd {

using nlohmann::json;

Error badResponse(std::string message) {
  return makeError("etcd_bad_response", std::move(message));
}

namespace {

// gRPC status codes by number, as the gateway's error body carries them.
constexpr std::array<std::string_view, 17> kGrpcCodes = {
    "ok",        "cancelled",      "unknown",           "invalid_argument",   "deadline_exceeded",
    "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
    "aborted",   "out_of_range",   "unimplemented",     "internal",           "unavailable",
    "data_loss", "unauthenticated"};

std::string_view targetName(Compare::Target t) {
  switch (t) {
    case Compare::Target::kVersion:
      return "VERSION";
    case Compare::Target::kCreate:
      return "CREATE";
    case Compare::Target::kMod:
      return "MOD";
    case Compare::Target::kValue:
      return "VALUE";
  }
  return "MOD";
}

std::string_view resultName(Compare::Result r) {
  switch (r) {
    case Compare::Result::kEqual:
      return "EQUAL";
    case Compare::Result::kGreater:
      return "GREATER";
    case Compare::Result::kLess:
      return "LESS";
    case Compare::Result::kNotEqual:
      return "NOT_EQUAL";
  }
  return "EQUAL";
}

// An optional field that must be of type `is` when present.
template <typename Pred>
Result<const json*> field(const json& obj, std::string_view name, Pred is, std::string_view kind) {
  if (!obj.is_object()) return badResponse("expected a JSON object");
  const auto it = obj.find(name);
  if (it == obj.end()) return static_cast<const json*>(nullptr);
  if (!is(*it)) return badResponse(fmt::format("field {} is not {}", name, kind));
  return &*it;
}

Result<std::string> readBytes(const json& obj, std::string_view name) {
  auto f = field(
      obj, name, [](const json& j) { return j.is_string(); }, "a string");
  if (!f) return f.error();
  if (*f == nullptr) return std::string();
  return decodeBase64((*f)->get_ref<const std::string&>());
}

}  // namespace

Result<std::string> decodeBase64(std::string_view text) {
  auto bytes = drover::decodeBase64(text);
  if (!bytes) return badResponse("invalid base64");
  return std::move(*bytes);
}

std::string prefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

json encodeCompare(const Compare& c) {
  json j = {{"key", encodeBase64(c.key)},
            {"target", targetName(c.target)},
            {"result", resultName(c.result)}};
  switch (c.target) {
    case Compare::Target::kVersion:
      j["version"] = std::to_string(c.number);
      break;
    case Compare::Target::kCreate:
      j["create_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::kMod:
      j["mod_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::kValue:
      j["value"] = encodeBase64(c.value);
      break;
  }
  return j;
}

Op Op::erasePrefix(std::string prefix) {
  Op op = erase(prefix.empty() ? std::string(1, '\0') : prefix);
  op.range_end = etcd::prefixEnd(prefix);
  return op;
}

json encodeOp(const Op& op) {
  json body = {{"key", encodeBase64(op.key)}};
  if (op.kind != Op::Kind::kPut && !op.range_end.empty())
    body["range_end"] = encodeBase64(op.range_end);
  switch (op.kind) {
    case Op::Kind::kRange:
      return {{"request_range", body}};
    case Op::Kind::kPut:
      body["value"] = encodeBase64(op.value);
      if (op.lease != 0) body["lease"] = std::to_string(op.lease);
      return {{"request_put", body}};
    case Op::Kind::kDelete:
      if (op.prev_kv) body["prev_kv"] = true;
      return {{"request_delete_range", body}};
  }
  return body;
}

Result<std::int64_t> readInt64(const json& obj, std::string_view name) {
  auto f = field(
      obj, name, [](const json& j) { return j.is_string() || j.is_number_integer(); },
      "an integer");
  if (!f) return f.error();
  if (*f == nullptr) return std::int64_t{0};
  if ((*f)->is_number_integer()) return (*f)->get<std::int64_t>();
  const auto& s = (*f)->get_ref<const std::string&>();
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return badResponse(fmt::format("field {} is not a 64-bit decimal: '{}'", name, s));
  return v;
}

Result<KeyValue> decodeKeyValue(const json& j) {
  KeyValue kv;
  auto key = readBytes(j, "key");
  if (!key) return key.error();
  auto value = readBytes(j, "value");
  if (!value) return value.error();
  kv.key = std::move(*key);
  kv.value = std::move(*value);
  for (auto [name, out] : {std::pair{"create_revision", &kv.create_revision},
                           std::pair{"mod_revision", &kv.mod_revision},
                           std::pair{"version", &kv.version}, std::pair{"lease", &kv.lease}}) {
    auto v = readInt64(j, name);
    if (!v) return v.error();
    *out = *v;
  }
  return kv;
}

Result<std::vector<KeyValue>> decodeKvs(const json& j, std::string_view name) {
  auto f = field(
      j, name, [](const json& v) { return v.is_array(); }, "an array");
  if (!f) return f.error();
  std::vector<KeyValue> out;
  if (*f == nullptr) return out;
  for (const auto& item : **f) {
    auto kv = decodeKeyValue(item);
    if (!kv) return kv.error();
    out.push_back(std::move(*kv));
  }
  return out;
}

namespace {

// The store revision in a response's header; 0 when there is no header.
Result<std::int64_t> headerRevision(const json& j) {
  auto header = field(
      j, "header", [](const json& v) { return v.is_object(); }, "an object");
  if (!header) return header.error();
  if (*header == nullptr) return std::int64_t{0};
  return readInt64(**header, "revision");
}

}  // namespace

Result<TxnResult> decodeTxn(const json& j) {
  TxnResult r;
  auto succeeded = field(
      j, "succeeded", [](const json& v) { return v.is_boolean(); }, "a bool");
  if (!succeeded) return succeeded.error();
  r.succeeded = *succeeded != nullptr && (*succeeded)->get<bool>();
  auto rev = headerRevision(j);
  if (!rev) return rev.error();
  r.revision = *rev;
  auto responses = field(
      j, "responses", [](const json& v) { return v.is_array(); }, "an array");
  if (!responses) return responses.error();
  if (*responses == nullptr) return r;
  for (const auto& item : **responses) {
    if (!item.is_object() || item.size() != 1)
      return badResponse("a txn response is not an object with one field");
    const auto first = item.begin();  // the iterator must outlive the key it hands out
    const std::string& name = first.key();
    const json& body = first.value();
    OpResult op;
    if (name == "response_range") {
      op.kind = Op::Kind::kRange;
      auto kvs = decodeKvs(body);
      if (!kvs) return kvs.error();
      op.kvs = std::move(*kvs);
    } else if (name == "response_put") {
      op.kind = Op::Kind::kPut;
    } else if (name == "response_delete_range") {
      op.kind = Op::Kind::kDelete;
      auto deleted = readInt64(body, "deleted");
      if (!deleted) return deleted.error();
      op.deleted = *deleted;
      auto prev = decodeKvs(body, "prev_kvs");
      if (!prev) return prev.error();
      op.prev_kvs = std::move(*prev);
    } else {
      return badResponse(fmt::format("unknown txn response {}", name));
    }
    r.responses.push_back(std::move(op));
  }
  return r;
}

Result<WatchResponse> decodeWatch(const json& j) {
  WatchResponse w;
  for (auto [name, out] : {std::pair{"created", &w.created}, std::pair{"canceled", &w.canceled}}) {
    auto f = field(
        j, name, [](const json& v) { return v.is_boolean(); }, "a bool");
    if (!f) return f.error();
    *out = *f != nullptr && (*f)->get<bool>();
  }
  auto compact = readInt64(j, "compact_revision");
  if (!compact) return compact.error();
  w.compact_revision = *compact;
  auto rev = headerRevision(j);
  if (!rev) return rev.error();
  w.revision = *rev;
  auto events = field(
      j, "events", [](const json& v) { return v.is_array(); }, "an array");
  if (!events) return events.error();
  if (*events == nullptr) return w;
  for (const auto& item : **events) {
    Event e;
    auto type = field(
        item, "type", [](const json& v) { return v.is_string(); }, "a string");
    if (!type) return type.error();
    if (*type != nullptr && **type == "DELETE")
      e.type = Event::Type::kDelete;
    else if (*type != nullptr && **type != "PUT")
      return badResponse(fmt::format("unknown watch event type {}", (*type)->dump()));
    auto kv = decodeKeyValue(item.value("kv", json::object()));
    if (!kv) return kv.error();
    e.kv = std::move(*kv);
    w.events.push_back(std::move(e));
  }
  return w;
}

std::optional<Error> decodeError(const json& body, std::string_view what) {
  if (!body.is_object() || !body.contains("error")) return std::nullopt;
  // {"error": "...", "code": 5}, or on a stream {"error": {"grpc_code": 5, "message": "..."}}.
  const json& err = body["error"];
  const bool streamed = err.is_object();
  if (!streamed && !body.contains("code")) return std::nullopt;
  const json& code = streamed ? err.value("grpc_code", json()) : body["code"];
  const json& message = streamed ? err.value("message", json()) : err;
  const std::int64_t n = code.is_number_integer() ? code.get<std::int64_t>() : -1;
  const std::string text = message.is_string() ? message.get<std::string>() : message.dump();
  const std::string name = n >= 0 && n < static_cast<std::int64_t>(kGrpcCodes.size())
                               ? std::string(kGrpcCodes[static_cast<std::size_t>(n)])
                               : "error";
  return makeError("etcd_" + name, fmt::format("{}: {} (code {})", what, text, code.dump()));
}

}  // namespace drover::etcd
