// Running other programs (udhcpc, mkfs.vfat, containerd, ctr, recipe steps): argv only,
// never a shell. An Exec function can be replaced by a fake in tests.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace drover::agent {

struct ExecRequest {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to (overriding) the agent's environment
  std::string output_file;                 // stdout+stderr go here if set, else inherited
};

// Exit status of the program (0..255; 128+N for a signal), or an error when it could not
// be started (`exec`).
using ExecFn = std::function<Result<int>(const ExecRequest&)>;

Result<int> runProcess(const ExecRequest& req);

// Starts a program in the background; returns its pid (for long-running daemons).
Result<int> spawnProcess(const ExecRequest& req);

}  // namespace drover::agent
