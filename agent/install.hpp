// Install and discovery flows (the boot environment):
//   network up -> exchange token -> register with facts -> plan -> disk checks ->
//   stream image -> NoCloud seed + join unit -> report installed -> sync -> reboot.
// Every step reports an event; a failure reports `failed` with the reason and stops.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "agent/api_client.hpp"
#include "agent/cmdline.hpp"
#include "agent/image_stream.hpp"
#include "common/result.hpp"

namespace drover::agent {

struct InstallOptions {
  BootParams params;
  std::string disk;                       // overrides the plan's disk (--disk)
  bool allow_file_target = false;         // install into a plain file (tests, demos)
  bool dry_run = false;                   // everything but writing the disk and the seed
  bool reboot = true;
  bool network_up = false;                // run DHCP when no interface has an address
  std::filesystem::path sys_root = "/";   // /proc and /sys for inventory and disk checks
  // Installed root for the seed and the join unit; empty: mount it from the written disk.
  std::filesystem::path installed_root;
  std::filesystem::path mountpoint = "/mnt/target";
  StreamOptions stream;                   // retry/timeout tuning (url/sha256 come from the plan)
  ApiOptions api;                         // retry tuning (base/tls come from params)
  std::chrono::milliseconds report_interval{5000};  // image_progress events at most this often
  std::chrono::milliseconds poll_interval{10000};   // discovery: register again this often
  int max_polls = 0;                                // discovery: 0 = wait forever
  bool console_progress = true;                     // progress line on stderr
  std::function<void()> reboot_fn;                  // default: sync + reboot(RB_AUTOBOOT)
};

struct InstallOutcome {
  std::string node;
  std::string action;       // what register said: install, wait, boot-local
  bool installed = false;   // image verified+flushed, seed written, `installed` reported
  StreamResult image;
};

// Error codes are those of the failing step; the message names the step.
Result<InstallOutcome> runInstall(const InstallOptions& opt);

// Process exit codes of the executable.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

}  // namespace drover::agent
