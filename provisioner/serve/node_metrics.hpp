// Node gauges for /metrics, computed when scraped (one pass over the store):
//   drover_nodes{state="discovered|installing|installed|joined|failed"}
//   drover_nodes_reinstall_pending, drover_nodes_declared
#pragma once

#include "provisioner/http/router.hpp"
#include "provisioner/serve/context.hpp"

namespace drover::serve {

// Sets the node gauges in ctx.registry from the store and the current declaration.
void updateNodeGauges(Context& ctx);

// GET /metrics (node gauges refreshed first) and GET /healthz.
void addMetricsRoutes(http::Router& router, Context& ctx);

}  // namespace drover::serve
