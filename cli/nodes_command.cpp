// drover nodes | node NAME | reinstall NAME: the operator's view of a running `drover serve`,
// through its API (docs/api.md, docs/operations.md).
#include <chrono>
#include <iomanip>
#include <ostream>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/api_client.hpp"
#include "cli/commands.hpp"

namespace drover::cli {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

int report(std::ostream& err, const Error& e) {
  err << "drover: " << e.message << '\n';
  return exitCodeFor(e);
}

void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string bytes(std::int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

// One line about the hardware an agent reported.
std::string factsSummary(const json& f) {
  if (!f.is_object() || f.empty()) return "none reported";
  std::vector<std::string> parts;
  if (auto cpu = f.find("cpu"); cpu != f.end() && cpu->is_object()) {
    std::string model = str(*cpu, "model");
    parts.push_back(
        fmt::format("{} cpus{}", num(*cpu, "count"), model.empty() ? "" : " (" + model + ")"));
  }
  if (num(f, "memory_bytes") > 0) parts.push_back(bytes(num(f, "memory_bytes")) + " memory");
  if (auto disks = f.find("disks"); disks != f.end() && disks->is_array()) {
    std::string d;
    for (const auto& disk : *disks)
      d += (d.empty() ? "" : ", ") + str(disk, "name") + " " + bytes(num(disk, "size_bytes"));
    parts.push_back("disks: " + (d.empty() ? "none" : d));
  }
  if (auto arch = str(f, "arch"); !arch.empty()) parts.push_back(arch);
  if (auto smbios = f.find("smbios"); smbios != f.end() && smbios->is_object()) {
    auto vendor = str(*smbios, "vendor"), product = str(*smbios, "product");
    if (!vendor.empty() || !product.empty())
      parts.push_back(vendor + (vendor.empty() ? "" : " ") + product);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out.empty() ? "none reported" : out;
}

}  // namespace

void addTargetOptions(CLI::App* cmd, ApiTarget& t) {
  cmd->add_option("-c,--config", t.config,
                  "Cluster declaration: the API address and state dir come from it");
  cmd->add_option("--api", t.api, "API URL, e.g. https://192.0.2.1:8443");
  cmd->add_option("--state-dir", t.state_dir, "State directory (operator.token, tls/ca.crt)");
  cmd->add_option("--ca", t.ca, "CA certificate to trust (default: STATE_DIR/tls/ca.crt)");
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string formatAge(std::int64_t ms) {
  if (ms < 0) ms = 0;
  std::int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{}h", s / 86400, (s % 86400) / 3600);
}

int runNodes(const ApiTarget& target, bool raw, std::ostream& out, std::ostream& err) {
  auto api = ApiClient::connect(target);
  if (!api) return report(err, api.error());
  auto nodes = api->getJson("/v1/nodes");
  if (!nodes) return report(err, nodes.error());
  if (raw) {
    out << nodes->dump(2) << '\n';
    return 0;
  }
  const auto now = nowMs();
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "IP", "MAC", "PROFILE", "LAST-EVENT", "AGE"}};
  for (const auto& n : *nodes) {
    const auto since = num(n, "since");
    rows.push_back({str(n, "name"), str(n, "state"), str(n, "ip").empty() ? "-" : str(n, "ip"),
                    str(n, "mac").empty() ? "-" : str(n, "mac"),
                    str(n, "profile").empty() ? "-" : str(n, "profile"),
                    str(n, "last_event").empty() ? "-" : str(n, "last_event"),
                    since > 0 ? formatAge(now - since) : "-"});
  }
  printTable(out, rows);
  return 0;
}

int runNode(const ApiTarget& target, const std::string& name, bool raw, std::ostream& out,
            std::ostream& err) {
  auto api = ApiClient::connect(target);
  if (!api) return report(err, api.error());
  auto node = api->getJson("/v1/nodes/" + pathSegment(name));
  if (!node) return report(err, node.error());
  auto events = api->getJson("/v1/nodes/" + pathSegment(name) + "/events");
  if (!events) return report(err, events.error());
  if (raw) {
    json all = *node;
    all["events"] = *events;
    out << all.dump(2) << '\n';
    return 0;
  }
  const auto now = nowMs();
  const auto& n = *node;
  auto ago = [&](std::int64_t ts) {
    return ts > 0 ? formatAge(now - ts) + " ago" : std::string("never");
  };
  std::vector<std::vector<std::string>> rows = {
      {"name:", str(n, "name")},
      {"state:",
       str(n, "state") + (num(n, "since") > 0 ? " for " + formatAge(now - num(n, "since")) : "")},
      {"declared:",
       n.value("declared", false) ? "yes" : "no (discovered; add it to the declaration)"},
      {"mac:", str(n, "mac").empty() ? "-" : str(n, "mac")},
      {"ip:", str(n, "ip").empty() ? "-" : str(n, "ip")},
      {"profile:", str(n, "profile").empty() ? "-" : str(n, "profile")},
      {"last seen:", ago(num(n, "last_seen"))},
      {"facts:", factsSummary(n.value("facts", json::object()))},
  };
  printTable(out, rows);
  out << "\ntimeline:\n";
  if (events->empty()) out << "  (nothing yet)\n";
  std::vector<std::vector<std::string>> tl;
  for (const auto& e : *events)
    tl.push_back({"  " + ago(num(e, "ts")), str(e, "phase"), str(e, "message")});
  printTable(out, tl);
  return 0;
}

int runReinstall(const ApiTarget& target, const std::string& name, std::ostream& out,
                 std::ostream& err, ReinstallVia via, bool force) {
  auto api = ApiClient::connect(target);
  if (!api) return report(err, api.error());
  json body = json::object();
  if (via == ReinstallVia::kPower) body["power"] = true;
  if (via == ReinstallVia::kReboot) body["reboot"] = true;
  if (force) body["force"] = true;
  auto r = api->call("POST", "/v1/nodes/" + pathSegment(name) + "/reinstall", body.dump());
  if (!r) return report(err, r.error());
  auto j = json::parse(*r, nullptr, false);
  if (!j.is_object()) j = json::object();
  const auto deadline = str(j, "handoff_deadline");
  const auto watched = deadline.empty()
                           ? std::string()
                           : "; it must reach the network within " + deadline + " (`drover node " +
                                 name + "` shows handoff or handoff_failed)";
  if (via == ReinstallVia::kPower) {
    out << name << ": reinstall requested; next boot from the network (read back), power "
        << (str(j, "power").empty() ? std::string("cycle") : str(j, "power")) << " sent" << watched
        << "\n";
  } else if (via == ReinstallVia::kReboot) {
    out << name << ": reinstall requested; its agent sets the network as the next boot and "
        << "reboots at its next heartbeat, within "
        << (str(j, "heartbeat_interval").empty() ? std::string("30s")
                                                 : str(j, "heartbeat_interval"))
        << watched << "\n";
  } else {
    out << name << ": reinstall requested; its next network boot installs it again\n";
  }
  return 0;
}

void addNodesCommands(CLI::App& root, Context& ctx) {
  struct Flags {
    ApiTarget target;
    std::string name;
    bool json = false;
    bool power = false;
    bool reboot = false;
    bool force = false;
  };
  auto f = std::make_shared<Flags>();
  auto* nodes =
      root.add_subcommand("nodes", "List nodes: NAME STATE IP MAC PROFILE LAST-EVENT AGE");
  addTargetOptions(nodes, f->target);
  nodes->add_flag("--json", f->json, "Print the API's JSON");
  nodes->callback([f, &ctx] { ctx.exit_code = runNodes(f->target, f->json, ctx.out, ctx.err); });

  auto* node =
      root.add_subcommand("node", "One node: its record, hardware facts and boot timeline");
  node->add_option("name", f->name, "Node name")->required();
  addTargetOptions(node, f->target);
  node->add_flag("--json", f->json, "Print the API's JSON");
  node->callback(
      [f, &ctx] { ctx.exit_code = runNode(f->target, f->name, f->json, ctx.out, ctx.err); });

  auto* reinstall =
      root.add_subcommand("reinstall", "Install a node again on its next network boot");
  reinstall->add_option("name", f->name, "Node name")->required();
  addTargetOptions(reinstall, f->target);
  auto* power = reinstall->add_flag(
      "--power", f->power,
      "Through its BMC: next boot from the network once (read back), then power cycle");
  reinstall
      ->add_flag("--reboot", f->reboot,
                 "Through its running agent: next boot from its network entry once (UEFI "
                 "BootNext, read back), then reboot; no BMC needed")
      ->excludes(power);
  reinstall->add_flag("--force", f->force,
                      "An etcd member: reinstall even when removing it from etcd costs the "
                      "cluster its quorum, or no etcd member answers");
  reinstall->callback([f, &ctx] {
    const auto via = f->power    ? ReinstallVia::kPower
                     : f->reboot ? ReinstallVia::kReboot
                                 : ReinstallVia::kNextBoot;
    ctx.exit_code = runReinstall(f->target, f->name, ctx.out, ctx.err, via, f->force);
  });
}

}  // namespace drover::cli
