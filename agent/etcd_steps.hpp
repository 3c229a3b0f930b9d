// The etcd steps of a join recipe (agent/join.hpp lists the step kinds), run against the
// other members' client URLs through drover::etcd (state/etcd/members.hpp decides):
//
//   etcd_join     a member whose data directory holds no data yet asks the others for
//                 etcd's member list. None answers: it bootstraps with the declared list
//                 (state new), as the first members of a cluster do. Otherwise it is added
//                 as a learner (a former member of the same peer URL, whose data went with a
//                 reinstall, is removed first) and starts with state existing and the peer
//                 list etcd answered. A data directory with data: nothing to do (etcd
//                 restarts from it).
//   etcd_promote  after etcd started: a learner is promoted once etcd says it caught up
//                 (retried while it is not in sync, a bounded number of times). Nothing to do
//                 after a bootstrap.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "common/result.hpp"
#include "state/etcd/client.hpp"
#include "state/etcd/members.hpp"

namespace drover::agent {

struct PlannedStep;

struct EtcdStepOptions {
  etcd::Options client{};      // each request's timeouts
  etcd::RetryOptions retry{};  // member add/remove refused for now, promote not in sync
};

// What the steps report (the node's timeline through the agent's events).
using EtcdReport = std::function<void(const std::string& message)>;

// One etcd_join or etcd_promote step; the variables it sets for the later steps
// (ETCD_INITIAL_CLUSTER, ETCD_INITIAL_CLUSTER_STATE after a join). Error codes: etcd_join,
// etcd_promote (the reason from etcd or the network in the message).
class EtcdSteps {
 public:
  EtcdSteps(EtcdStepOptions options, EtcdReport report)
      : options_(std::move(options)), report_(std::move(report)) {}
  Result<std::map<std::string, std::string>> run(const PlannedStep& step);

 private:
  EtcdStepOptions options_;
  EtcdReport report_;
  bool bootstrapped_ = false;  // etcd_join bootstrapped: etcd_promote has nothing to do
};

}  // namespace drover::agent
