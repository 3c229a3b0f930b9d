// drover sim: N simulated PXE machines booting at once against a DHCP/TFTP/HTTP boot
// server (Drover or any other), with per-phase latency percentiles (docs/sim.md).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "sim/runner.hpp"

namespace drover::cli {

namespace {

struct SimFlags {
  sim::Config config;
  std::string server, relay, mac_base, arch = "bios";
  std::string spread = "0s", deadline = "5m", run_limit = "30m", dhcp_timeouts = "4s,8s,16s,32s",
              tftp_timeout = "1s", http_timeout = "60s";
  std::string json, timeline;
  bool quiet = false;
};

Status apply(SimFlags& f) {
  auto& c = f.config;
  if (f.config.script_url.empty() && (f.server.empty() || f.relay.empty()))
    return makeError("usage",
                     "--server and --relay are required (or --script-url for an HTTP-only run)");
  if (!f.server.empty()) {  // "A" or "A,B,C": a relay with several servers
    std::vector<Ipv4Address> all;
    std::string_view rest = f.server;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      auto server = Ipv4Address::parse(rest.substr(0, comma));
      if (!server) return makeError("usage", "--server: " + server.error().message);
      all.push_back(*server);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    c.server = all.front();
    c.more_servers.assign(all.begin() + 1, all.end());
  }
  if (!f.relay.empty()) {
    auto relay = Ipv4Address::parse(f.relay);
    if (!relay) return makeError("usage", "--relay: " + relay.error().message);
    c.relay = *relay;
  }
  if (!f.mac_base.empty()) {
    auto mac = MacAddress::parse(f.mac_base);
    if (!mac) return makeError("usage", "--mac-base: " + mac.error().message);
    c.mac_base = *mac;
  }
  if (f.arch == "bios")
    c.arch = 0;
  else if (f.arch == "efi-x64")
    c.arch = 7;
  else if (f.arch == "efi-arm64")
    c.arch = 11;
  else
    return makeError("usage", "--arch: bios, efi-x64 or efi-arm64");
  struct {
    const std::string& text;
    sim::Millis& out;
    const char* flag;
  } durations[] = {{f.spread, c.spread, "--spread"},
                   {f.deadline, c.deadline, "--deadline"},
                   {f.run_limit, c.run_limit, "--run-limit"},
                   {f.tftp_timeout, c.tftp_timeout, "--tftp-timeout"},
                   {f.http_timeout, c.http_timeout, "--http-timeout"}};
  for (auto& d : durations) {
    auto v = sim::parseDuration(d.text);
    if (!v) return makeError("usage", std::string(d.flag) + ": " + v.error().message);
    d.out = *v;
  }
  auto list = sim::parseDurations(f.dhcp_timeouts);
  if (!list) return makeError("usage", "--dhcp-timeouts: " + list.error().message);
  c.dhcp_timeouts = *list;
  return sim::validate(c);
}

void printProgress(const sim::Progress& p, bool tty) {
  const auto line = fmt::format("sim: {:7.1f}s  started {}/{}  booting {}  done {}  failed {}",
                                p.elapsed_s, p.started, p.total, p.active, p.completed, p.failed);
  if (tty) {
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), p.final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

int runSim(SimFlags& f, std::ostream& out, std::ostream& err) {
  if (auto st = apply(f); !st) {
    err << "drover sim: " << st.error().message << '\n';
    return 2;
  }
  sim::Runner runner(f.config);
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::function<void(const sim::Progress&)> progress;
  if (!f.quiet) progress = [tty](const sim::Progress& p) { printProgress(p, tty); };
  auto summary = runner.run(progress);
  if (!summary) {
    err << "drover sim: " << summary.error().message << '\n';
    return 2;
  }
  out << sim::toText(*summary);
  if (!f.json.empty()) {
    auto j = sim::toJson(*summary);
    j["config"] = {{"clients", f.config.clients},
                   {"concurrency", f.config.concurrency},
                   {"spread_ms", f.config.spread.count()},
                   {"deadline_ms", f.config.deadline.count()},
                   {"arch", f.config.arch},
                   {"blksize", f.config.blksize},
                   {"windowsize", f.config.windowsize},
                   {"tsize_probe", f.config.tftp_probe},
                   {"server", f.server},
                   {"relay", f.relay},
                   {"script_url", f.config.script_url}};
    std::ofstream file(f.json);
    file << j.dump(2) << '\n';
    if (!file) {
      err << "drover sim: cannot write " << f.json << '\n';
      return 2;
    }
  }
  if (!f.timeline.empty()) {
    std::ofstream file(f.timeline);
    file << "# seconds completed\n0 0\n";
    for (const auto& [t, n] : sim::completionTimeline(runner.records()))
      file << fmt::format("{:.3f} {}\n", t, n);
    if (!file) {
      err << "drover sim: cannot write " << f.timeline << '\n';
      return 2;
    }
  }
  return summary->failed == 0 ? 0 : 1;
}

}  // namespace

void addSimCommand(CLI::App& root, Context& ctx) {
  auto f = std::make_shared<SimFlags>();
  auto* cmd = root.add_subcommand(
      "sim", "Simulate PXE machines booting at once (DHCP, TFTP, HTTP) and report latencies");
  auto& c = f->config;
  cmd->add_option("--server", f->server,
                  "DHCP server address, or several separated by commas (requests are relayed to "
                  "each by unicast)");
  cmd->add_option("--relay", f->relay, "Address the sim listens on as a DHCP relay (giaddr)");
  cmd->add_option("--script-url", c.script_url,
                  "HTTP only: skip DHCP and TFTP, every machine starts at this iPXE script URL");
  cmd->add_option("--relay-port", c.relay_port, "Relay port the server replies to")
      ->capture_default_str();
  cmd->add_option("--server-port", c.server_port, "DHCP server port")->capture_default_str();
  cmd->add_option("-n,--clients", c.clients, "Simulated machines")
      ->capture_default_str()
      ->check(CLI::Range(1U, 1000000U));
  cmd->add_option("--concurrency", c.concurrency, "Machines booting at once")
      ->capture_default_str()
      ->check(CLI::Range(1U, 1000000U));
  cmd->add_option("--spread", f->spread, "Power-on times spread uniformly over this (e.g. 10s)")
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "Seed of the power-on schedule")->capture_default_str();
  cmd->add_option("--deadline", f->deadline, "Per-machine deadline from power-on")
      ->capture_default_str();
  cmd->add_option("--run-limit", f->run_limit, "Stop powering machines on after this")
      ->capture_default_str();
  cmd->add_option("--mac-base", f->mac_base,
                  "First MAC (machine i adds i), default 52:54:00:5a:00:00");
  cmd->add_option("--arch", f->arch, "Firmware: bios, efi-x64 or efi-arm64 (option 93)")
      ->capture_default_str();
  cmd->add_option("--dhcp-timeouts", f->dhcp_timeouts, "DISCOVER/REQUEST retransmit schedule")
      ->capture_default_str();
  cmd->add_option("--blksize", c.blksize, "TFTP blksize asked for")
      ->capture_default_str()
      ->check(CLI::Range(8, 65464));
  cmd->add_option("--windowsize", c.windowsize, "TFTP windowsize asked for (1: no option)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  cmd->add_flag("!--no-tsize-probe", c.tftp_probe,
                "Skip the firmware's tsize probe before the download");
  cmd->add_option("--tftp-timeout", f->tftp_timeout, "First TFTP retransmit timeout (doubles)")
      ->capture_default_str();
  cmd->add_option("--tftp-retries", c.tftp_retries, "TFTP retransmits before giving up")
      ->capture_default_str();
  cmd->add_option("--http-retries", c.http_retries, "Retries of a failed GET")
      ->capture_default_str();
  cmd->add_option("--reboots", c.reboots,
                  "Times a failed boot starts over from DHCP, as firmware looping its boot order")
      ->capture_default_str();
  cmd->add_option("--http-timeout", f->http_timeout, "HTTP: no progress for this long fails a GET")
      ->capture_default_str();
  cmd->add_flag("--bind-leased", c.bind_leased,
                "Bind TFTP/HTTP sockets to the leased address (needs a local route for the pool)");
  cmd->add_option("--json", f->json, "Write the report as JSON to FILE");
  cmd->add_option("--timeline", f->timeline,
                  "Write boots completed over time (seconds, count) to FILE");
  cmd->add_flag("-q,--quiet", f->quiet, "No progress line on stderr");
  cmd->callback([f, &ctx] { ctx.exit_code = runSim(*f, ctx.out, ctx.err); });
}

}  // namespace drover::cli
