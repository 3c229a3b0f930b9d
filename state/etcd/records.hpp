// The JSON values EtcdStore keeps in etcd: node records, timeline entries and tokens. Pure: no
// I/O. Encoding never throws (bytes that are not UTF-8 are replaced by U+FFFD); decoding a
// value that is not the JSON written here fails with state_corrupt naming the key.
//
//   value      fields (absent optional fields read as their zero value)
//   node       name, state (required), mac, uuid, reinstall_requested, capture_requested,
//              state_since_ms, facts_json (the facts as a JSON string), install_version,
//              credential_hash, capture_image, capture_token_hash
//   timeline   ts_ms, phase, message
//   token      hash, kind, node, expires_ms
//   handoff    node, method (required), attempt, id, mac, requested_ms, deadline_ms,
//              delivered, rebooting
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "state/store.hpp"

namespace drover::state::etcd_records {

std::string encodeNode(const NodeRecord& rec);
Result<NodeRecord> decodeNode(std::string_view key, std::string_view value);

std::string encodeEntry(const TimelineEntry& entry);
Result<TimelineEntry> decodeEntry(std::string_view key, std::string_view value);

std::string encodeToken(const TokenRecord& token);
Result<TokenRecord> decodeToken(std::string_view key, std::string_view value);

std::string encodeHandoff(const HandoffRecord& h);
Result<HandoffRecord> decodeHandoff(std::string_view key, std::string_view value);

// The error for a value at `key` that cannot be read: code state_corrupt.
Error corrupt(std::string_view key, std::string_view why);

}  // namespace drover::state::etcd_records
