// The JSON API on the TLS listener (docs/api.md): the agent's calls under /v1/agent/ and
// the operator's under /v1/nodes. Every call is authenticated:
//   - operator calls: `Authorization: Bearer <operator token>`;
//   - agent calls: `Authorization: Bearer <node>.<credential>`, the credential the agent
//     got by exchanging its single-use boot token; it opens only that node's data;
//   - /v1/agent/exchange: the boot token in the body, spent on use.
// Failures answer 401 (403 for a valid credential asking for another node's data), are
// counted (api_auth_failures_total{reason}) and, past a burst per client address,
// answered 429 without checking.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

#include "http/router.hpp"
#include "server/context.hpp"

namespace drover::server {

class AuthGuard;

void addApiRoutes(http::Router& router, Context& ctx);

// /v1/agent/* and /v1/nodes*; addApiRoutes registers both over one AuthGuard, so failures
// on either count toward one limit per client address.
void addAgentRoutes(http::Router& router, Context& ctx, std::shared_ptr<AuthGuard> auth);
void addOperatorRoutes(http::Router& router, Context& ctx, std::shared_ptr<AuthGuard> auth);
// The rows of GET /v1/nodes: declared nodes first (in declaration order), then the
// machines only the state store knows.
Result<nlohmann::json> nodeRows(Context& ctx);
// The web dashboard: its pages, login and logout, and the data it shows (server/ui_routes.hpp).
void addUiRoutes(http::Router& router, Context& ctx, std::shared_ptr<AuthGuard> auth);

}  // namespace drover::server
