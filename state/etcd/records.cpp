#include "state/etcd/records.hpp"

#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace drover::state::etcd_records {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Reads the fields of one JSON object, remembering the first problem.
class Reader {
 public:
  Reader(std::string_view key, std::string_view value) : key_(key) {
    j_ = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (j_.is_discarded()) {
      fail("not JSON");
    } else if (!j_.is_object()) {
      fail("not a JSON object");
    }
  }

  void text(const char* name, std::string& out, bool required = false) {
    if (const json* f = find(name, required)) {
      if (f->is_string())
        out = f->get<std::string>();
      else
        fail(fmt::format("field {} is not a string", name));
    }
  }
  void integer(const char* name, std::int64_t& out) {
    if (const json* f = find(name, false)) {
      if (f->is_number_integer())
        out = f->get<std::int64_t>();
      else
        fail(fmt::format("field {} is not an integer", name));
    }
  }
  void boolean(const char* name, bool& out) {
    if (const json* f = find(name, false)) {
      if (f->is_boolean())
        out = f->get<bool>();
      else
        fail(fmt::format("field {} is not a bool", name));
    }
  }
  void fail(std::string why) {
    if (!error_) error_ = corrupt(key_, why);
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  const json* find(const char* name, bool required) {
    if (error_) return nullptr;
    const auto it = j_.find(name);
    if (it != j_.end()) return &*it;
    if (required) fail(fmt::format("field {} is missing", name));
    return nullptr;
  }

  std::string_view key_;
  json j_;
  std::optional<Error> error_;
};

}  // namespace

Error corrupt(std::string_view key, std::string_view why) {
  return makeError("state_corrupt", fmt::format("etcd key {}: {}", key, why));
}

std::string encodeNode(const NodeRecord& r) {
  return dump({{"name", r.name},
               {"mac", r.mac},
               {"uuid", r.uuid},
               {"state", std::string(toString(r.status.state))},
               {"reinstall_requested", r.status.reinstall_requested},
               {"capture_requested", r.status.capture_requested},
               {"state_since_ms", r.state_since_ms},
               {"facts_json", r.facts_json},
               {"install_version", r.install_version},
               {"credential_hash", r.credential_hash},
               {"capture_image", r.capture_image},
               {"capture_token_hash", r.capture_token_hash}});
}

Result<NodeRecord> decodeNode(std::string_view key, std::string_view value) {
  NodeRecord r;
  std::string state;
  Reader in(key, value);
  in.text("name", r.name, /*required=*/true);
  in.text("state", state, /*required=*/true);
  in.text("mac", r.mac);
  in.text("uuid", r.uuid);
  in.boolean("reinstall_requested", r.status.reinstall_requested);
  in.boolean("capture_requested", r.status.capture_requested);
  in.integer("state_since_ms", r.state_since_ms);
  in.text("facts_json", r.facts_json);
  in.text("install_version", r.install_version);
  in.text("credential_hash", r.credential_hash);
  in.text("capture_image", r.capture_image);
  in.text("capture_token_hash", r.capture_token_hash);
  if (!in.error()) {
    if (auto s = parseNodeState(state))
      r.status.state = *s;
    else
      in.fail(fmt::format("unknown state '{}'", state));
  }
  if (in.error()) return *in.error();
  return r;
}

std::string encodeEntry(const TimelineEntry& e) {
  return dump({{"ts_ms", e.ts_ms}, {"phase", e.phase}, {"message", e.message}});
}

Result<TimelineEntry> decodeEntry(std::string_view key, std::string_view value) {
  TimelineEntry e;
  Reader in(key, value);
  in.integer("ts_ms", e.ts_ms);
  in.text("phase", e.phase, /*required=*/true);
  in.text("message", e.message);
  if (in.error()) return *in.error();
  return e;
}

std::string encodeToken(const TokenRecord& t) {
  return dump({{"hash", t.hash}, {"kind", t.kind}, {"node", t.node}, {"expires_ms", t.expires_ms}});
}

Result<TokenRecord> decodeToken(std::string_view key, std::string_view value) {
  TokenRecord t;
  Reader in(key, value);
  in.text("hash", t.hash, /*required=*/true);
  in.text("kind", t.kind);
  in.text("node", t.node);
  in.integer("expires_ms", t.expires_ms);
  if (in.error()) return *in.error();
  return t;
}

std::string encodeHandoff(const HandoffRecord& h) {
  return dump({{"node", h.node},
               {"method", h.method},
               {"attempt", h.attempt},
               {"id", h.id},
               {"mac", h.mac},
               {"requested_ms", h.requested_ms},
               {"deadline_ms", h.deadline_ms},
               {"delivered", h.delivered},
               {"rebooting", h.rebooting}});
}

Result<HandoffRecord> decodeHandoff(std::string_view key, std::string_view value) {
  HandoffRecord h;
  std::int64_t attempt = 0;
  Reader in(key, value);
  in.text("node", h.node);
  in.text("method", h.method, /*required=*/true);
  in.integer("attempt", attempt);
  in.text("id", h.id);
  in.text("mac", h.mac);
  in.integer("requested_ms", h.requested_ms);
  in.integer("deadline_ms", h.deadline_ms);
  in.boolean("delivered", h.delivered);
  in.boolean("rebooting", h.rebooting);
  if (!in.error() && (attempt < 0 || attempt > 2))
    in.fail(fmt::format("attempt {} is not 0, 1 or 2", attempt));
  if (in.error()) return *in.error();
  h.attempt = static_cast<int>(attempt);
  return h;
}

}  // namespace drover::state::etcd_records
