#include "agent/join.hpp"

#include <csignal>
#include <thread>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/efi_boot.hpp"
#include "agent/installed_root.hpp"
#include "agent/seed.hpp"
#include "common/log.hpp"

namespace drover::agent {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Error badStep(std::size_t i, const std::string& what) {
  return makeError("bad_recipe", fmt::format("step {}: {}", i, what));
}

// ${NAME} -> vars[NAME]; an unknown name is an error.
Result<std::string> expand(const std::string& s, const std::map<std::string, std::string>& vars) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto start = s.find("${", i);
    if (start == std::string::npos) {
      out += s.substr(i);
      break;
    }
    auto end = s.find('}', start);
    if (end == std::string::npos) return makeError("bad_recipe", "unclosed ${ in \"" + s + "\"");
    out += s.substr(i, start - i);
    const auto name = s.substr(start + 2, end - start - 2);
    auto it = vars.find(name);
    if (it == vars.end()) return makeError("bad_recipe", "unknown variable ${" + name + "}");
    out += it->second;
    i = end + 1;
  }
  return out;
}

Result<std::vector<std::string>> stringArray(const json& j, std::size_t i, const char* what,
                                             const std::map<std::string, std::string>& vars) {
  if (!j.is_array()) return badStep(i, std::string(what) + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) return badStep(i, std::string(what) + " must be an array of strings");
    auto e = expand(v.get<std::string>(), vars);
    if (!e) return badStep(i, e.error().message);
    out.push_back(*e);
  }
  return out;
}

// Optional typed fields of a step: a present field of another type is an error, never an
// exception (nlohmann's value() would throw).
Status optBool(const json& j, const char* key, std::size_t i, bool& out) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_boolean()) return badStep(i, std::string(key) + " must be true or false");
  out = it->get<bool>();
  return {};
}

Status optString(const json& j, const char* key, std::size_t i, std::string& out) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_string()) return badStep(i, std::string(key) + " must be a string");
  out = it->get<std::string>();
  return {};
}

// "0644": one to four octal digits.
Result<unsigned> fileMode(const std::string& s, std::size_t i) {
  if (s.empty() || s.size() > 4) return badStep(i, "write_file.mode must be octal, e.g. \"0644\"");
  unsigned mode = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return badStep(i, "write_file.mode must be octal, e.g. \"0644\"");
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  return mode;
}

// write_file paths are absolute and say where they lead: no "." or ".." components.
Status checkWritePath(const std::string& path, std::size_t i) {
  if (path.empty() || path.front() != '/' || path.back() == '/') {
    return badStep(
        i, "write_file.path \"" + log::sanitize(path, 80) + "\" is not an absolute file path");
  }
  if (path.find('\0') != std::string::npos) return badStep(i, "write_file.path holds a NUL byte");
  for (const auto& part : fs::path(path)) {
    if (part.string() == ".." || part.string() == ".") {
      return badStep(i,
                     "write_file.path \"" + log::sanitize(path, 80) + "\" has a . or .. component");
    }
  }
  return {};
}

std::vector<std::string> ctrBase(const RuntimePaths& rt) {
  return {rt.ctr, "--address", rt.socket.string(), "--namespace", rt.ns};
}

Status planCtrRun(const json& spec, std::size_t i, const RuntimePaths& rt,
                  const std::map<std::string, std::string>& vars, PlannedStep& step) {
  if (!spec.is_object()) return badStep(i, "ctr_run must be an object");
  if (!spec.contains("image") || !spec["image"].is_string() || !spec.contains("id") ||
      !spec["id"].is_string()) {
    return badStep(i, "ctr_run needs string fields image and id");
  }
  auto image = expand(spec["image"].get<std::string>(), vars);
  auto id = expand(spec["id"].get<std::string>(), vars);
  if (!image || !id) return badStep(i, (!image ? image.error() : id.error()).message);
  step.argv = ctrBase(rt);
  step.argv.insert(step.argv.end(), {"run", "-d"});
  bool net_host = false;
  if (auto st = optBool(spec, "net_host", i, net_host); !st) return st;
  if (net_host) step.argv.push_back("--net-host");
  if (spec.contains("env")) {
    if (!spec["env"].is_object()) return badStep(i, "ctr_run.env must be an object");
    for (auto it = spec["env"].begin(); it != spec["env"].end(); ++it) {
      if (!it.value().is_string()) return badStep(i, "ctr_run.env values must be strings");
      auto v = expand(it.value().get<std::string>(), vars);
      if (!v) return badStep(i, v.error().message);
      step.argv.insert(step.argv.end(), {"--env", it.key() + "=" + *v});
    }
  }
  if (spec.contains("mounts")) {
    auto mounts = stringArray(spec["mounts"], i, "ctr_run.mounts", vars);
    if (!mounts) return mounts.error();
    for (const auto& m : *mounts) {
      auto colon = m.find(':');
      if (colon == std::string::npos) return badStep(i, "mount \"" + m + "\" is not src:dst");
      step.argv.insert(step.argv.end(),
                       {"--mount", "type=bind,src=" + m.substr(0, colon) +
                                       ",dst=" + m.substr(colon + 1) + ",options=rbind:rw"});
    }
  }
  step.argv.push_back(*image);
  step.argv.push_back(*id);
  step.container_id = *id;
  if (spec.contains("args")) {
    auto args = stringArray(spec["args"], i, "ctr_run.args", vars);
    if (!args) return args.error();
    step.argv.insert(step.argv.end(), args->begin(), args->end());
  }
  return {};
}

// etcd_join / etcd_promote: an object of strings, the ones named required.
Status planEtcd(const json& spec, std::size_t i, const char* kind,
                std::initializer_list<const char*> required,
                const std::map<std::string, std::string>& vars, PlannedStep& step) {
  if (!spec.is_object()) return badStep(i, std::string(kind) + " must be an object");
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (!it.value().is_string()) return badStep(i, std::string(kind) + " values must be strings");
    auto v = expand(it.value().get<std::string>(), vars);
    if (!v) return badStep(i, v.error().message);
    step.etcd_args[it.key()] = *v;
  }
  for (const char* key : required) {
    if (!step.etcd_args.contains(key))
      return badStep(i, std::string(kind) + " needs the string field " + key);
  }
  return {};
}

}  // namespace

Result<std::vector<PlannedStep>> planSteps(const JoinRecipe& recipe, const RuntimePaths& rt,
                                           const std::map<std::string, std::string>& base_vars,
                                           const Vars& overrides) {
  auto vars = base_vars;
  for (const auto& [k, v] : recipe.env) vars[k] = v;
  for (const auto& [k, v] : overrides) vars[k] = v;
  std::vector<PlannedStep> out;
  for (std::size_t i = 0; i < recipe.steps.size(); ++i) {
    const json& s = recipe.steps[i];
    if (!s.is_object()) return badStep(i, "not an object");
    PlannedStep step;
    if (auto st = optString(s, "name", i, step.name); !st) return st.error();
    if (auto st = optBool(s, "ignore_error", i, step.ignore_error); !st) return st.error();
    int kinds = 0;
    if (s.contains("run")) {
      ++kinds;
      auto argv = stringArray(s["run"], i, "run", vars);
      if (!argv) return argv.error();
      if (argv->empty()) return badStep(i, "run needs a program");
      step.argv = *argv;
    }
    if (s.contains("ctr_import")) {
      ++kinds;
      if (!s["ctr_import"].is_string()) return badStep(i, "ctr_import must be a path");
      auto path = expand(s["ctr_import"].get<std::string>(), vars);
      if (!path) return badStep(i, path.error().message);
      step.argv = ctrBase(rt);
      step.argv.insert(step.argv.end(), {"images", "import", *path});
    }
    if (s.contains("ctr_run")) {
      ++kinds;
      if (auto st = planCtrRun(s["ctr_run"], i, rt, vars, step); !st) return st.error();
    }
    if (s.contains("write_file")) {
      ++kinds;
      const json& w = s["write_file"];
      if (!w.is_object() || !w.contains("path") || !w["path"].is_string() ||
          !w.contains("content") || !w["content"].is_string()) {
        return badStep(i, "write_file needs string fields path and content");
      }
      auto path = expand(w["path"].get<std::string>(), vars);
      auto content = expand(w["content"].get<std::string>(), vars);
      if (!path || !content) return badStep(i, (!path ? path.error() : content.error()).message);
      if (auto st = checkWritePath(*path, i); !st) return st.error();
      std::string mode = "0644";
      if (auto st = optString(w, "mode", i, mode); !st) return st.error();
      auto m = fileMode(mode, i);
      if (!m) return m.error();
      step.write_path = *path;
      step.write_content = *content;
      step.write_mode = *m;
    }
    if (s.contains("etcd_join")) {
      ++kinds;
      step.etcd = "join";
      if (auto st = planEtcd(s["etcd_join"], i, "etcd_join",
                             {"endpoints", "name", "peer_url", "initial_cluster"}, vars, step);
          !st)
        return st.error();
    }
    if (s.contains("etcd_promote")) {
      ++kinds;
      step.etcd = "promote";
      if (auto st =
              planEtcd(s["etcd_promote"], i, "etcd_promote", {"endpoints", "peer_url"}, vars, step);
          !st)
        return st.error();
    }
    if (s.contains("pod_network")) {
      ++kinds;
      PlannedStep values;
      if (auto st = planEtcd(s["pod_network"], i, "pod_network", {}, vars, values); !st)
        return st.error();
      auto spec = parsePodNetSpec(values.etcd_args);
      if (!spec) return badStep(i, spec.error().message);
      step.pod_network = std::move(*spec);
    }
    if (kinds != 1)
      return badStep(i,
                     "needs exactly one of run, ctr_import, ctr_run, write_file, etcd_join, "
                     "etcd_promote, pod_network");
    if (step.name.empty()) {
      step.name = step.pod_network     ? "pod network"
                  : !step.etcd.empty() ? "etcd " + step.etcd
                  : step.argv.empty()  ? "write " + step.write_path
                                       : step.argv[0];
    }
    out.push_back(std::move(step));
  }
  return out;
}

Status runSteps(const std::vector<PlannedStep>& steps, const ExecFn& exec,
                const std::function<void(const PlannedStep&)>& on_step) {
  return runSteps(steps, exec, StepHooks{on_step, {}, {}});
}

Status runSteps(const std::vector<PlannedStep>& planned, const ExecFn& exec,
                const StepHooks& hooks) {
  auto log = log::get("agent");
  std::vector<PlannedStep> steps = planned;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const PlannedStep s = steps[i];
    if (hooks.on_step) hooks.on_step(s);
    log->info("AGENT_STEP index={} name=\"{}\"", i, log::sanitize(s.name, 80));
    Status st;
    if (s.pod_network) {
      st = hooks.pod_network ? hooks.pod_network(*s.pod_network)
                             : Status(makeError("step", "no pod network runner"));
    } else if (!s.etcd.empty()) {
      if (!hooks.etcd) {
        st = makeError("step", "no etcd step runner");
      } else if (auto vars = hooks.etcd(s); !vars) {
        st = vars.error();
      } else if (!vars->empty() && hooks.replan) {
        // The same steps with the values etcd gave: only those after this one change.
        auto again = hooks.replan(*vars);
        if (!again) return makeError("step", again.error().message);
        if (again->size() != steps.size())
          return makeError("step", "the recipe planned again has another number of steps");
        steps = std::move(*again);
      }
    } else if (!s.write_path.empty()) {
      std::error_code ec;
      fs::create_directories(fs::path(s.write_path).parent_path(), ec);
      st = writeFileDurably(s.write_path, s.write_content, s.write_mode);
    } else {
      auto rc = exec({s.argv, {}, ""});
      if (!rc) {
        st = rc.error();
      } else if (*rc != 0) {
        st = makeError("step", fmt::format("step {} ({}) exited with {}", i, s.name, *rc));
      }
    }
    if (!st) {
      if (s.ignore_error) {
        log->warn("AGENT_STEP_IGNORED index={} reason=\"{}\"", i,
                  log::sanitize(st.error().message, 200));
        continue;
      }
      return makeError("step", st.error().message);
    }
  }
  return {};
}

std::vector<PlannedStep> restartSteps(const std::vector<PlannedStep>& steps,
                                      const RuntimePaths& rt) {
  std::vector<PlannedStep> out;
  for (const auto& s : steps) {
    if (s.container_id.empty()) continue;
    PlannedStep rm;
    rm.name = "remove stale container " + s.container_id;
    rm.argv = ctrBase(rt);
    rm.argv.insert(rm.argv.end(), {"containers", "rm", s.container_id});
    rm.ignore_error = true;
    out.push_back(std::move(rm));
    out.push_back(s);
  }
  return out;
}

namespace {

std::string containerdConfig(const RuntimePaths& rt) {
  return fmt::format(
      "version = 2\nroot = \"{}\"\nstate = \"{}\"\n[grpc]\n  address = \"{}\"\n"
      "[ttrpc]\n  address = \"{}.ttrpc\"\n[debug]\n  address = \"\"\n",
      rt.root.string(), rt.state.string(), rt.socket.string(), rt.socket.string());
}

// Starts containerd with its own root, state and socket, and waits until ctr answers.
Status startRuntime(const JoinOptions& opt) {
  const auto& rt = opt.runtime;
  std::error_code ec;
  fs::create_directories(rt.root, ec);
  fs::create_directories(rt.state, ec);
  const fs::path cfg = rt.state / "config.toml";
  if (auto st = writeFileDurably(cfg, containerdConfig(rt)); !st) return st;
  ExecRequest req{{rt.containerd, "--config", cfg.string(), "--address", rt.socket.string()},
                  {},
                  (rt.state / "containerd.log").string()};
  auto pid = spawnProcess(req);
  if (!pid) return makeError("runtime", pid.error().message);
  for (int i = 0; i < 300; ++i) {
    auto base = ctrBase(rt);
    base.push_back("version");
    auto rc = opt.exec({base, {}, (rt.state / "ctr.log").string()});
    if (rc && *rc == 0) {
      if (opt.on_runtime_started) opt.on_runtime_started(*pid);
      return {};
    }
    int status = 0;
    if (::waitpid(*pid, &status, WNOHANG) == *pid) {
      return makeError("runtime",
                       "containerd exited; see " + (rt.state / "containerd.log").string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(*pid, SIGTERM);
  return makeError("runtime", "containerd did not answer on " + rt.socket.string());
}

}  // namespace

Status runJoin(const JoinOptions& opt) {
  auto log = log::get("agent");
  auto cfg = loadAgentConfig(opt.config);
  if (!cfg) return cfg.error();
  ApiOptions ao = opt.api;
  ao.base = cfg->api;
  ao.tls.ca_fingerprint = cfg->ca_fingerprint;
  ApiClient api(ao);
  api.setCredential(cfg->credential);
  auto report = [&](std::string_view phase, const std::string& msg) {
    if (auto st = api.event(phase, msg); !st) {
      log->warn("AGENT_EVENT_LOST phase={} reason=\"{}\"", phase,
                log::sanitize(st.error().message, 200));
    }
  };
  auto fail = [&](const std::string& step, const Error& e) {
    report("failed", step + ": " + e.message);
    return Error{e.code, step + ": " + e.message};
  };

  std::error_code ec;
  const bool joined = fs::exists(opt.marker, ec);
  auto recipe = api.join();
  if (!recipe) return fail("join", recipe.error());
  std::map<std::string, std::string> vars{{"DROVER_NODE", cfg->node}, {"DROVER_API", cfg->api}};
  auto steps = planSteps(*recipe, opt.runtime, vars);
  if (!steps) return fail("join", steps.error());

  if (opt.start_runtime) {
    if (auto st = startRuntime(opt); !st) return fail("runtime", st.error());
    report("runtime_started", recipe->runtime.empty() ? "containerd" : recipe->runtime);
  }
  // On UEFI, whether this boot ran under Secure Boot (what the firmware says, every boot).
  if (auto sb = efi::secureBootEnabled(opt.network_reboot.efivars_dir))
    report("secure_boot", *sb ? "on: the firmware enforces Secure Boot" : "off");
  PodNetwork podnet(opt.pod_network, opt.exec);
  bool in_pod_network = false;
  auto podnetStart = [&](const PodNetSpec& spec) -> Status {
    in_pod_network = true;
    auto st = podnet.start(spec);
    if (st) {
      report("pod_network", fmt::format("subnet {} leased, {} other nodes routed",
                                        podnet.own()->subnet.str(), podnet.routes().size()));
    }
    return st;
  };
  if (joined) {
    // After a reboot only the containers need starting again; one-time steps are done.
    const auto again = restartSteps(*steps, opt.runtime);
    if (auto st = runSteps(again, opt.exec); !st) return fail("restart", st.error());
    log->info("AGENT_ALREADY_JOINED node={} restarted={}", cfg->node, again.size());
    // The device and routes went with the reboot; the lease is the node's own again.
    for (const auto& s : *steps) {
      if (!s.pod_network) continue;
      if (auto st = podnetStart(*s.pod_network); !st) {
        log->warn("AGENT_POD_NETWORK_FAILED reason=\"{}\"", log::sanitize(st.error().message, 200));
        report("pod_network", "not set up yet: " + st.error().message);
      }
    }
  } else {
    Vars found;  // what etcd_join steps found out, for the steps after them
    EtcdSteps etcd(opt.etcd, [&](const std::string& msg) { report("etcd", msg); });
    StepHooks hooks;
    hooks.on_step = [&](const PlannedStep& s) {
      log->info("AGENT_JOIN_STEP name=\"{}\"", log::sanitize(s.name, 80));
      report("join_step", s.name);  // the node's timeline shows the recipe's progress
    };
    hooks.etcd = [&](const PlannedStep& s) { return etcd.run(s); };
    hooks.replan = [&](const Vars& more) {
      for (const auto& [k, v] : more) found[k] = v;
      return planSteps(*recipe, opt.runtime, vars, found);
    };
    hooks.pod_network = podnetStart;
    auto st = runSteps(*steps, opt.exec, hooks);
    if (!st) return fail("step", st.error());
    fs::create_directories(opt.marker.parent_path(), ec);
    if (auto w = writeFileDurably(opt.marker, recipe->recipe + "\n"); !w)
      return fail("marker", w.error());
    auto j = api.call("POST", "/v1/agent/events",
                      json{{"phase", "joined"}, {"message", recipe->recipe}}.dump(),
                      ao.max_attempts * 4);
    if (!j) return Error{"report", "joined: " + j.error().message};
    log->info("AGENT_JOINED node={} recipe={}", cfg->node, recipe->recipe);
  }
  std::string handled;  // the last reboot request acted on
  for (int n = 0; opt.max_heartbeats == 0 || n < opt.max_heartbeats; ++n) {
    auto beat = api.heartbeat();
    if (!beat) {
      log->warn("AGENT_HEARTBEAT_FAILED reason=\"{}\"", log::sanitize(beat.error().message, 200));
    } else if (beat->action == "reinstall" && beat->id != handled) {
      handled = beat->id;
      auto report_for = [&](std::string_view phase, const std::string& msg) {
        if (auto st = api.eventFor(beat->id, phase, msg); !st)
          log->warn("AGENT_EVENT_LOST phase={} reason=\"{}\"", phase,
                    log::sanitize(st.error().message, 200));
      };
      // Failures are reported by rebootToNetwork; the heartbeats go on.
      (void)rebootToNetwork({beat->id, beat->mac}, opt.network_reboot, report_for);
    }
    if (in_pod_network) {
      // The other nodes' leases, re-read: routes follow nodes as they come and go.
      if (auto st = podnet.refresh(); !st)
        log->warn("AGENT_POD_NETWORK_FAILED reason=\"{}\"", log::sanitize(st.error().message, 200));
    }
    if (opt.max_heartbeats != 0 && n + 1 >= opt.max_heartbeats) break;
    std::this_thread::sleep_for(opt.heartbeat_interval);
  }
  return {};
}

}  // namespace drover::agent
