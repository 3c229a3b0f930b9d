// Capture (docs/images.md, docs/api.md): an operator asks for a node's disk; on its next
// network boot the agent reads the disk, compresses it with zstd and uploads it in pieces
// with a one-time capture token; the server checks the digests the agent declares and
// publishes the upload as a new, pinned version of the target image in the catalog.
//
//   POST   /v1/nodes/{name}/capture[?image=NAME]  operator: request (image default <name>-capture)
//   DELETE /v1/nodes/{name}/capture               operator: cancel a pending capture
//   PUT    /v1/agent/capture/data?offset=N        agent: one piece of the zstd stream
//   POST   /v1/agent/capture/finish               agent: declared digests; check and publish
//   POST   /v1/agent/capture/abort                agent: the capture failed on the node
//
// The capture routes take `Authorization: Bearer <node>.<capture token>`; the token is
// issued with the capture plan, stored as a SHA-256 in the node record and forgotten when
// the capture ends (published or refused), so it opens one upload only. Refusals are
// counted in capture_drops_total{reason}; every end of a capture is in the node timeline.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/values.hpp"
#include "http/router.hpp"
#include "cluster/config.hpp"
#include "server/context.hpp"

namespace drover::server {

class AuthGuard;

// Upload pieces are at most this long (under the API listener's body limit).
inline constexpr std::size_t kCaptureChunkBytes = 512 * 1024;

http::Response requestCapture(Context& ctx, const std::string& node, const std::string& image);
http::Response cancelCapture(Context& ctx, const std::string& node);

// Register and plan for a node whose capture is pending: nullopt when none is. The
// register body of an agent in capture mode carries "mode": "capture" beside the facts.
std::optional<http::Response> captureRegister(Context& ctx, const std::string& node, const nlohmann::json& body);
std::optional<http::Response> capturePlan(Context& ctx, const std::string& node);

void addCaptureUploadRoutes(http::Router& router, Context& ctx, std::shared_ptr<AuthGuard> auth);

// What the catalog kept about a captured version: its format and the raw disk's digest,
// for install plans of that version. nullopt for versions that were not captured.
struct CapturedInfo {
  std::string format;  // "raw.zst"
  std::string raw_sha256;
  std::uint64_t raw_size = 0;
  std::string node;
};
std::optional<CapturedInfo> capturedInfo(const cluster::Config& config, const Sha256& digest);

}  // namespace drover::server
