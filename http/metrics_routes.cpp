#include "http/metrics_routes.hpp"

namespace drover::http {

void addMetricsRoutes(Router& router, metrics::Registry& registry, std::function<std::string()> unhealthy_reason) {
  router.add(Verb::get, "/metrics", [&registry](const Request&) {
    return Response::text(Status::ok, registry.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  router.add(Verb::get, "/healthz", [unhealthy_reason = std::move(unhealthy_reason)](const Request&) {
    std::string reason = unhealthy_reason ? unhealthy_reason() : std::string();
    if (!reason.empty()) return Response::text(Status::service_unavailable, "unhealthy: " + reason + "\n");
    return Response::text(Status::ok, "ok\n");
  });
}

}  // namespace drover::http
