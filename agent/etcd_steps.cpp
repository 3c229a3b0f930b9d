#include "agent/etcd_steps.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "agent/join.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace drover::agent {
namespace {

std::string arg(const PlannedStep& s, const char* key) {
  auto it = s.etcd_args.find(key);
  return it == s.etcd_args.end() ? std::string() : it->second;
}

// etcd writes member/ under its data directory once it has started.
bool hasData(const std::string& data_dir) {
  std::error_code ec;
  return !data_dir.empty() &&
         std::filesystem::exists(std::filesystem::path(data_dir) / "member", ec);
}

}  // namespace

Result<std::map<std::string, std::string>> EtcdSteps::run(const PlannedStep& step) {
  auto log = log::get("agent");
  const auto endpoints = splitList(arg(step, "endpoints"));
  const auto peer_url = arg(step, "peer_url");
  if (step.etcd == "join") {
    if (hasData(arg(step, "data_dir"))) {
      report_("etcd data present: etcd restarts from it");
      return std::map<std::string, std::string>{};
    }
    etcd::JoinRequest req{endpoints, arg(step, "name"), peer_url, arg(step, "initial_cluster")};
    auto out = etcd::joinCluster(req, options_.client, options_.retry);
    if (!out) return makeError("etcd_join", out.error().message);
    bootstrapped_ = out->state == "new";
    log->info("AGENT_ETCD_JOIN action={} member={:016x} initial_cluster=\"{}\"",
              etcd::toString(out->action), out->member_id,
              log::sanitize(out->initial_cluster, 400));
    report_(out->message);
    return std::map<std::string, std::string>{{"ETCD_INITIAL_CLUSTER", out->initial_cluster},
                                              {"ETCD_INITIAL_CLUSTER_STATE", out->state}};
  }
  if (step.etcd == "promote") {
    if (bootstrapped_ || endpoints.empty()) return std::map<std::string, std::string>{};
    if (auto st = etcd::promoteMember(endpoints, peer_url, options_.client, options_.retry); !st)
      return makeError("etcd_promote", st.error().message);
    log->info("AGENT_ETCD_PROMOTED peer_url={}", log::sanitize(peer_url, 200));
    report_("etcd learner " + peer_url + " promoted to a voting member");
    return std::map<std::string, std::string>{};
  }
  return makeError("etcd_join", "unknown etcd step " + step.etcd);
}

}  // namespace drover::agent
