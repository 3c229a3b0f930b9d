// Node gauges for /metrics, computed when scraped (one pass over the store):
//   drover_nodes{state="discovered|installing|installed|joined|failed"}
//   drover_nodes_reinstall_pending, drover_nodes_declared
#pragma once

#include "http/router.hpp"
#include "server/context.hpp"

namespace drover::server {

// Sets the node gauges in ctx.registry from the store and the current declaration.
void updateNodeGauges(Context& ctx);

// GET /metrics (node gauges refreshed first) and GET /healthz.
void addMetricsRoutes(http::Router& router, Context& ctx);

}  // namespace drover::server
