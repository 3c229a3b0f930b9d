// Join mode against the fake server (test_server.hpp), set up the way the join tests run it.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "agent/installed_root.hpp"
#include "agent/join.hpp"
#include "agent/seed.hpp"
#include "tests/agent/test_server.hpp"

namespace drover::agent {

// Writes `dir`/agent.json for `node` (credential `credential`, the API at `server`) and sets
// `opt` to use it: the joined marker under `dir`/state, no container runtime, two heartbeats
// back to back, quick API retries. False when agent.json could not be written.
inline bool joinAgainstTestServer(const test::TestServer& server, const std::filesystem::path& dir,
                                  const std::string& credential, const std::string& node,
                                  JoinOptions& opt) {
  const AgentConfig cfg{server.url(""), "", credential, node};
  if (!writeFileDurably(dir / "agent.json", agentConfigToJson(cfg).dump()).ok()) return false;
  opt.config = dir / "agent.json";
  opt.marker = dir / "state/joined";
  opt.start_runtime = false;
  opt.max_heartbeats = 2;
  opt.heartbeat_interval = std::chrono::seconds(0);
  opt.api.backoff_initial = std::chrono::milliseconds(5);
  return true;
}

}  // namespace drover::agent
