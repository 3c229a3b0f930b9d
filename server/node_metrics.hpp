// Node gauges for /metrics, from one pass over the store:
//   drover_nodes{state="discovered|installing|installed|joined|failed"}
//   drover_nodes_reinstall_pending, drover_nodes_declared,
//   drover_nodes_refreshed_timestamp_seconds (when the pass last succeeded)
// A scrape asks for a fresh pass and waits for it at most kScrapeWait: a store that is slow
// or unreachable (etcd without quorum) never holds /metrics up; the scrape then answers with
// the last values, and the timestamp tells how old they are.
#pragma once

#include <chrono>

#include "http/router.hpp"
#include "server/context.hpp"

namespace drover::server {

inline constexpr std::chrono::milliseconds kScrapeWait{1000};

// Sets the node gauges in ctx.registry from the store and the current declaration; false
// when the store could not be read (the gauges keep their values).
bool updateNodeGauges(Context& ctx);

// GET /metrics (node gauges refreshed first, within kScrapeWait) and GET /healthz.
void addMetricsRoutes(http::Router& router, Context& ctx);

}  // namespace drover::server
