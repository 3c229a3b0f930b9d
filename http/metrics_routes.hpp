// GET /metrics (Prometheus text format 0.0.4 from a metrics::Registry) and GET /healthz.
#pragma once

#include <functional>

#include "common/metrics.hpp"
#include "http/router.hpp"

namespace drover::http {

// `unhealthy_reason` may report a reason for being unhealthy (503); by default always healthy.
void addMetricsRoutes(Router& router, metrics::Registry& registry = metrics::Registry::global(),
                      std::function<std::string()> unhealthy_reason = {});

}  // namespace drover::http
