// Join mode (the installed OS): fetch the join recipe, start the container runtime, run the
// recipe's steps, report `joined`, then heartbeat. A marker file makes it idempotent across
// reboots: once joined, only the runtime and the heartbeats start again.
//
// Recipe steps (GET /v1/agent/join, "steps": [...]), each an object with one kind:
//   {"run": ["argv0", "arg", ...]}                    run a program (no shell), must exit 0
//   {"ctr_import": "/path/image.tar"}                 ctr images import (OCI/docker archive)
//   {"ctr_run": {"image": "...", "id": "...", "args": [...], "net_host": true,
//                "env": {"K": "V"}, "mounts": ["/host:/ctr"]}}
//                                                      ctr run -d a container
//   {"write_file": {"path": "/etc/x", "content": "...", "mode": "0644"}}
//   {"etcd_join": {"endpoints": "http://a:2379,...", "name": "...", "peer_url": "...",
//                  "initial_cluster": "...", "data_dir": "..."}}
//                                                      join a running etcd cluster as a learner
//                                                      (agent/etcd_steps.hpp); sets
//                                                      ${ETCD_INITIAL_CLUSTER} and
//                                                      ${ETCD_INITIAL_CLUSTER_STATE} for the
//                                                      steps after it
//   {"etcd_promote": {"endpoints": "...", "peer_url": "..."}}
//                                                      promote that learner once it caught up
//   {"pod_network": {"endpoints": "http://a:2379,...", "prefix": "/drover/pod-network",
//                    "cidr": "198.18.0.0/16", "subnet_length": "24", "backend": "vxlan",
//                    "lease_ttl": "86400", "node": "...", "ip": "..."}}
//                                                      lease a pod subnet in etcd, write the
//                                                      CNI configuration, route to the other
//                                                      nodes' subnets (agent/podnet.hpp); set
//                                                      up again on every boot, its lease and
//                                                      routes kept current on every heartbeat
// Optional per step: "name" (for events) and "ignore_error": true.
// Values may use ${VAR} from the recipe's "env" and from DROVER_NODE / DROVER_API.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/api_client.hpp"
#include "agent/etcd_steps.hpp"
#include "agent/net_reboot.hpp"
#include "agent/podnet.hpp"
#include "agent/process.hpp"
#include "common/result.hpp"

namespace drover::agent {

struct RuntimePaths {
  std::string containerd = "containerd";
  std::string ctr = "ctr";
  std::filesystem::path root = "/var/lib/drover/containerd";
  std::filesystem::path state = "/run/drover/containerd";
  std::filesystem::path socket = "/run/drover/containerd/containerd.sock";
  std::string snapshotter = "overlayfs";
  std::string ns = "drover";   // containerd namespace
};

// A step turned into what to run (argv), or a file to write.
struct PlannedStep {
  std::string name;
  std::vector<std::string> argv;
  std::string write_path, write_content;
  unsigned write_mode = 0644;
  bool ignore_error = false;
  std::string container_id;  // ctr_run: started again (after removing the old one) on every boot
  // etcd_join / etcd_promote: "join" or "promote", and the values it names.
  std::string etcd;
  std::map<std::string, std::string> etcd_args{};
  std::optional<PodNetSpec> pod_network{};  // a pod_network step
};

using Vars = std::map<std::string, std::string>;

// Validates and expands every step first: a bad recipe fails before anything runs.
// `overrides` win over the recipe's env (what an etcd_join step found out).
// Error code: bad_recipe (names the step index and what is wrong).
Result<std::vector<PlannedStep>> planSteps(const JoinRecipe& recipe, const RuntimePaths& rt,
                                           const std::map<std::string, std::string>& vars,
                                           const Vars& overrides = {});

// Runs planned steps in order through `exec`; stops at the first failure (unless the step
// says ignore_error). `on_step` sees each step's name before it runs.
Status runSteps(const std::vector<PlannedStep>& steps, const ExecFn& exec,
                const std::function<void(const PlannedStep&)>& on_step = {});

struct StepHooks {
  std::function<void(const PlannedStep&)> on_step{};
  // Runs an etcd_join / etcd_promote step; the variables it returns hold for the steps after
  // it, planned again through `replan`. Without it such a step fails.
  std::function<Result<Vars>(const PlannedStep&)> etcd{};
  std::function<Result<std::vector<PlannedStep>>(const Vars&)> replan{};
  // Runs a pod_network step; without it such a step fails.
  std::function<Status(const PodNetSpec&)> pod_network{};
};
Status runSteps(const std::vector<PlannedStep>& steps, const ExecFn& exec, const StepHooks& hooks);

struct JoinOptions {
  std::filesystem::path config = "/etc/drover/agent.json";
  std::filesystem::path marker = "/var/lib/drover/joined";
  RuntimePaths runtime;
  bool start_runtime = true;
  std::chrono::seconds heartbeat_interval{30};
  int max_heartbeats = 0;          // 0: forever
  ExecFn exec = runProcess;
  ApiOptions api;                  // retry tuning
  std::function<void(int pid)> on_runtime_started;  // containerd keeps running after runJoin
  // A heartbeat answered {"action": "reinstall"}: how the machine is sent to the network.
  NetworkRebootOptions network_reboot{};
  EtcdStepOptions etcd{};  // etcd_join / etcd_promote steps
  PodNetOptions pod_network{};  // a pod_network step, then every heartbeat
};

// The steps to run on a boot after the node has joined: for each ctr_run step, remove the
// stale container (errors ignored) and run it again. One-time steps are not repeated.
std::vector<PlannedStep> restartSteps(const std::vector<PlannedStep>& steps, const RuntimePaths& rt);

// Error codes: config, bad_recipe, runtime, step, report. A heartbeat that asks for a
// reinstall reboots the machine into the network (agent/net_reboot.hpp); each request id is
// acted on once.
Status runJoin(const JoinOptions& opt);

}  // namespace drover::agent
