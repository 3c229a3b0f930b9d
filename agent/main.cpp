// drover-agent: runs in the boot environment (install, capture and discovery modes, from the
// kernel command line) and on the installed OS (join mode, from the systemd unit the install lays
// down). Thin: flags in, drover::agent_core does the work, exit code out.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "agent/capture.hpp"
#include "agent/cmdline.hpp"
#include "agent/install.hpp"
#include "agent/inventory.hpp"
#include "agent/join.hpp"
#include "agent/seed.hpp"
#include "common/certificate.hpp"
#include "common/curl/easy.hpp"
#include "common/log.hpp"
#include "common/version.hpp"

namespace {

using namespace drover::agent;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int report(const drover::Error& e) {
  std::fprintf(stderr, "drover-agent: %s (%s)\n", e.message.c_str(), e.code.c_str());
  return kExitFailed;
}

struct InstallFlags {
  BootParams params;
  std::string cmdline;  // read params from this file (e.g. /proc/cmdline) instead of flags
  InstallOptions opt;
  bool no_reboot = false;
};

void addInstallFlags(CLI::App* c, InstallFlags& f, bool with_disk) {
  c->add_option("--api", f.params.api, "Drover API base URL (https://192.0.2.1:8443)");
  c->add_option("--token", f.params.token, "boot token");
  c->add_option("--ca-fingerprint", f.params.ca_fingerprint, "sha256 of Drover's CA certificate");
  c->add_option("--node", f.params.node, "node name, when known");
  c->add_option("--cmdline", f.cmdline, "read drover.* parameters from this file (e.g. /proc/cmdline)");
  c->add_option("--sys-root", f.opt.sys_root, "read /proc and /sys under this directory");
  c->add_flag("--network", f.opt.network_up, "run DHCP first when no interface has an address");
  c->add_flag("--no-reboot", f.no_reboot, "do not reboot at the end");
  c->add_option("--poll-interval-ms", [&f](const CLI::results_t& r) {
    f.opt.poll_interval = std::chrono::milliseconds(std::stol(r[0]));
    return true;
  }, "discovery: register again this often");
  c->add_option("--max-polls", f.opt.max_polls, "discovery: stop waiting after this many polls (0: never)");
  if (with_disk) {
    c->add_option("--disk", f.opt.disk, "install to this disk instead of the plan's");
    c->add_flag("--dry-run", f.opt.dry_run, "download, decompress and verify, but write nothing");
    c->add_flag("--allow-file-target", f.opt.allow_file_target, "the disk may be a plain file");
    c->add_option("--installed-root", f.opt.installed_root,
                  "write the seed and join unit here instead of mounting the installed root");
  }
}

// drover.mode=capture on the kernel command line: the capture script boots the environment
// in this mode (when an installer line also carries drover.mode=install, the later one wins).
bool captureRequested(const std::string& cmdline) {
  auto keys = droverKeys(cmdline);
  auto it = keys.find("drover.mode");
  return it != keys.end() && it->second == "capture";
}

int runCaptureFlags(InstallFlags& f, const std::string& text);

int runInstallFlags(InstallFlags& f, Mode mode) {
  drover::Result<BootParams> params = f.params;
  if (!f.cmdline.empty()) {
    const std::string text = readFile(f.cmdline);
    if (mode == Mode::Install && captureRequested(text)) return runCaptureFlags(f, text);
    params = parseKernelCmdline(text);
  } else {
    f.params.mode = mode;
    params = validateParams(f.params, mode == Mode::Install);
  }
  if (!params) return report(params.error());
  f.opt.params = *params;
  f.opt.reboot = !f.no_reboot;
  auto r = runInstall(f.opt);
  if (!r) return report(r.error());
  std::fprintf(stderr, "drover-agent: node=%s action=%s installed=%s\n", r->node.c_str(),
               r->action.c_str(), r->installed ? "yes" : "no");
  return kExitOk;
}

// Capture mode: `text` is a kernel command line, or empty for the flags.
int runCaptureFlags(InstallFlags& f, const std::string& text) {
  drover::Result<BootParams> params = f.params;
  if (!text.empty()) {
    params = parseKernelCmdline(text + " drover.mode=install");
  } else {
    f.params.mode = Mode::Install;
    params = validateParams(f.params, true);
  }
  if (!params) return report(params.error());
  CaptureOptions opt;
  opt.params = *params;
  opt.disk = f.opt.disk;
  opt.allow_file_target = f.opt.allow_file_target;
  opt.network_up = f.opt.network_up;
  opt.sys_root = f.opt.sys_root;
  opt.reboot = !f.no_reboot;
  auto r = runCapture(opt);
  if (!r) return report(r.error());
  std::fprintf(stderr, "drover-agent: node=%s action=%s captured=%s image=%s version=%s raw_bytes=%llu bytes=%llu\n",
               r->node.c_str(), r->action.c_str(), r->published ? "yes" : "no", r->image.c_str(), r->version.c_str(),
               static_cast<unsigned long long>(r->raw_bytes), static_cast<unsigned long long>(r->bytes));
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"drover-agent: registers this machine with Drover, installs its OS and joins the cluster"};
  app.set_version_flag("--version", std::string(drover::kVersion));
  std::string level = "info";
  app.add_option("--log-level", level, "trace, debug, info, warn, error");
  app.require_subcommand(1);

  InstallFlags boot_flags;
  auto* boot = app.add_subcommand("boot", "boot environment: read /proc/cmdline, bring the network up, then install or discover");
  boot->add_flag("--no-reboot", boot_flags.no_reboot, "do not reboot at the end");
  boot->add_option("--cmdline", boot_flags.cmdline, "kernel command line file")->capture_default_str();
  boot_flags.cmdline = "/proc/cmdline";

  InstallFlags inst_flags;
  auto* install = app.add_subcommand("install", "install this machine's OS as the server plans it");
  addInstallFlags(install, inst_flags, true);

  InstallFlags cap_flags;
  auto* capture = app.add_subcommand("capture", "read this machine's disk and upload it to the server as an image");
  addInstallFlags(capture, cap_flags, false);
  capture->add_option("--disk", cap_flags.opt.disk, "capture this disk instead of the plan's");
  capture->add_flag("--allow-file-target", cap_flags.opt.allow_file_target, "the disk may be a plain file");

  InstallFlags disc_flags;
  auto* discover = app.add_subcommand("discover", "register this machine and wait for the operator");
  addInstallFlags(discover, disc_flags, false);

  JoinOptions join_opt;
  int heartbeat_s = 30;
  auto* join = app.add_subcommand("join", "installed OS: start containerd, run the join recipe, heartbeat");
  join->add_option("--config", join_opt.config, "agent config written by the install")->capture_default_str();
  join->add_option("--marker", join_opt.marker, "marker file of a completed join")->capture_default_str();
  join->add_option("--heartbeat-interval", heartbeat_s, "seconds between heartbeats")->capture_default_str();
  join->add_option("--max-heartbeats", join_opt.max_heartbeats, "stop after this many (0: never)");
  join->add_flag("--no-runtime", [&join_opt](std::int64_t) { join_opt.start_runtime = false; }, "do not start containerd");
  join->add_option("--containerd", join_opt.runtime.containerd, "containerd binary");
  join->add_option("--ctr", join_opt.runtime.ctr, "ctr binary");
  join->add_option("--runtime-root", join_opt.runtime.root, "containerd root")->capture_default_str();
  join->add_option("--runtime-state", join_opt.runtime.state, "containerd state")->capture_default_str();
  join->add_option("--runtime-socket", join_opt.runtime.socket, "containerd socket")->capture_default_str();

  std::string inv_root = "/";
  bool inv_all = false;
  auto* inv = app.add_subcommand("inventory", "print the hardware facts sent to the server");
  inv->add_option("--root", inv_root, "read /proc and /sys under this directory");
  inv->add_flag("--all-disks", inv_all, "include loop, ram, dm and other virtual disks");

  SeedData seed;
  std::string user_data_file, cidata, seed_root;
  auto* seedc = app.add_subcommand("seed", "write a NoCloud seed (directory or CIDATA image)");
  seedc->add_option("--user-data", user_data_file, "cloud-config file")->required();
  seedc->add_option("--instance-id", seed.instance_id, "instance-id")->required();
  seedc->add_option("--hostname", seed.hostname, "local-hostname");
  auto* to_img = seedc->add_option("--cidata", cidata, "make a FAT image labelled CIDATA");
  seedc->add_option("--root", seed_root, "write var/lib/cloud/seed/nocloud under this root")->excludes(to_img);

  std::string cert;
  auto* fp = app.add_subcommand("fingerprint", "print drover.ca=sha256:<hex> for a CA certificate");
  fp->add_option("cert", cert, "PEM or DER certificate")->required();

  CLI11_PARSE(app, argc, argv);
  drover::log::setup(level);

  if (*boot) {
    boot_flags.opt.network_up = true;
    return runInstallFlags(boot_flags, Mode::Install);
  }
  if (*install) return runInstallFlags(inst_flags, Mode::Install);
  if (*capture) {
    if (!cap_flags.cmdline.empty()) return runCaptureFlags(cap_flags, readFile(cap_flags.cmdline));
    return runCaptureFlags(cap_flags, "");
  }
  if (*discover) return runInstallFlags(disc_flags, Mode::Discover);
  if (*join) {
    join_opt.heartbeat_interval = std::chrono::seconds(heartbeat_s);
    auto st = runJoin(join_opt);
    return st ? kExitOk : report(st.error());
  }
  if (*inv) {
    InventoryOptions o;
    o.include_virtual_disks = inv_all;
    std::puts(factsToJson(collectFacts(inv_root, o)).dump(2).c_str());
    return kExitOk;
  }
  if (*seedc) {
    seed.user_data = readFile(user_data_file);
    if (seed.hostname.empty()) seed.hostname = seed.instance_id;
    drover::Status st = cidata.empty() ? writeSeedDir(seed_root.empty() ? "/" : seed_root, seed)
                                       : buildCidataImage(cidata, seed);
    return st ? kExitOk : report(st.error());
  }
  if (*fp) {
    auto f = drover::certificateSha256File(cert);
    if (!f) return report(f.error());
    std::printf("sha256:%s\n", f->c_str());
    return kExitOk;
  }
  return kExitUsage;
}
