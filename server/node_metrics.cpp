#include "server/node_metrics.hpp"

#include <array>
#include <memory>

#include <fmt/format.h>

#include "http/metrics_routes.hpp"

namespace drover::server {

void updateNodeGauges(Context& ctx) {
  constexpr std::array kStates = {state::NodeState::kDiscovered, state::NodeState::kInstalling,
                                  state::NodeState::kInstalled, state::NodeState::kJoined,
                                  state::NodeState::kFailed};
  auto records = ctx.store.listNodes();
  if (!records) {
    ctx.log->warn("METRICS_STATE_READ_FAILED error={}", records.error().message);
    return;
  }
  std::array<std::int64_t, kStates.size()> counts{};
  std::int64_t reinstall = 0;
  for (const auto& r : *records) {
    for (std::size_t i = 0; i < kStates.size(); ++i) counts[i] += r.status.state == kStates[i];
    reinstall += r.status.reinstall_requested;
  }
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    ctx.registry.gauge("nodes", "Nodes with a record in the state store, by state",
                       fmt::format("state=\"{}\"", state::toString(kStates[i]))) = counts[i];
  }
  ctx.registry.gauge("nodes_reinstall_pending", "Nodes the operator asked to reinstall, not yet reinstalling") =
      reinstall;
  if (auto snapshot = ctx.source.current()) {
    ctx.registry.gauge("nodes_declared", "Nodes in the current declaration") =
        static_cast<std::int64_t>(snapshot->inventory.config().nodes.size());
  }
}

void addMetricsRoutes(http::Router& router, Context& ctx) {
  auto inner = std::make_shared<http::Router>();
  http::addMetricsRoutes(*inner, ctx.registry);
  router.add(http::Verb::get, "/metrics", [inner, &ctx](const http::Request& req) {
    updateNodeGauges(ctx);
    http::Request copy = req;
    return inner->dispatch(copy);
  });
  router.add(http::Verb::get, "/healthz", [inner](const http::Request& req) {
    http::Request copy = req;
    return inner->dispatch(copy);
  });
}

}  // namespace drover::server
