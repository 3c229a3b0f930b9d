// drover explain FILE --mac MAC [--uuid UUID] [--arch ARCH] [--ipxe] [--state STATE]
//                [--installed] [--reinstall] [--capture] [--via IP]
// Prints the match and the boot decision (boot/decision.hpp), the whole DHCP answer, and
// the iPXE script; with the etcd backend, the live replicas too (read from etcd).
#include <filesystem>
#include <ostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/explain.hpp"
#include "cluster/loader.hpp"
#include "ha/membership.hpp"
#include "http/tls.hpp"
#include "server/context.hpp"
#include "state/etcd/client.hpp"

namespace drover::cli {
namespace {

struct ExplainArgs {
  std::string file;
  std::string mac;
  std::string uuid;
  std::string arch = "bios";
  std::string via;
  std::string state;  // empty: no record
  bool ipxe = false;
  bool installed = false;
  bool reinstall = false;
  bool capture = false;
};

std::string archNames() {
  std::string out;
  for (const auto& a : boot::architectures())
    out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", a.name, a.code);
  return out;
}

// Turns the text options into a query; reports the first bad one.
bool toQuery(const ExplainArgs& a, ExplainQuery& q, std::ostream& err) {
  auto fail = [&](std::string_view option, const Error& e) {
    err << "drover explain: " << option << ": " << e.message << '\n';
    return false;
  };
  auto mac = MacAddress::parse(a.mac);
  if (!mac) return fail("--mac", mac.error());
  q.mac = *mac;
  if (!a.uuid.empty()) {
    auto uuid = Uuid::parse(a.uuid);
    if (!uuid) return fail("--uuid", uuid.error());
    q.uuid = *uuid;
  }
  q.arch = boot::findArchitecture(a.arch);
  if (!q.arch)
    return fail("--arch", makeError("bad_arch",
                                    fmt::format("\"{}\" is none of: {}, by name or option 93 code",
                                                a.arch, archNames())));
  q.ipxe = a.ipxe;
  if (a.installed && !a.state.empty() && a.state != "installed")
    return fail("--installed", makeError("bad_state", "contradicts --state " + a.state));
  const std::string state_name = a.installed ? "installed" : a.state;
  if (!state_name.empty() && state_name != "none") {
    auto s = state::parseNodeState(state_name);
    if (!s)
      return fail("--state",
                  makeError("bad_state", fmt::format("\"{}\" is none of: none, discovered, "
                                                     "installing, installed, joined, failed",
                                                     state_name)));
    q.status = state::NodeStatus{*s, a.reinstall, a.capture};
  } else if (a.reinstall || a.capture) {
    return fail(a.reinstall ? "--reinstall" : "--capture",
                makeError("bad_state", "needs --state (a node record)"));
  }
  if (!a.via.empty()) {
    auto via = Ipv4Address::parse(a.via);
    if (!via) return fail("--via", via.error());
    q.via = *via;
  }
  return true;
}

// With the etcd backend, the live replicas (their keys in etcd): the API URLs `drover
// serve` names after its own on the boot environment's command line, and a line saying so.
struct LiveReplicas {
  std::vector<std::string> api_alternates;
  std::string line;
};

LiveReplicas liveReplicas(const cluster::Config& c) {
  LiveReplicas out;
  if (c.server.state.backend != cluster::StateBackend::Etcd) return out;
  auto say = [&](const std::string& text) {
    out.line = fmt::format("{:<9}{}\n", "replicas", text);
  };
  etcd::Options options;
  options.ca_file = c.server.state.ca_file;
  options.request_timeout_s = 3;
  auto client = etcd::Client::create(c.server.state.endpoints, options);
  auto all = client ? client->range(c.server.state.prefix + "/replicas/")
                    : Result<etcd::RangeResult>(client.error());
  if (!all) {
    say(
        fmt::format("unknown: etcd could not be read ({}); each replica names the other live "
                    "replicas' API URLs after its own",
                    all.error().message));
    return out;
  }
  std::vector<ha::ReplicaInfo> live;
  std::string self_id, names;
  for (const auto& kv : all->kvs) {
    auto r = ha::decodeReplica(kv.value);
    if (!r) continue;
    if (r->advertise == c.server.advertise.str()) self_id = r->id;
    names += fmt::format("{}{} {}", names.empty() ? "" : ", ", r->id, r->api_url);
    live.push_back(std::move(*r));
  }
  const std::string self_url =
      fmt::format("https://{}:{}", c.server.advertise.str(), c.server.api.listen.port);
  out.api_alternates =
      ha::otherApiUrls(std::move(live), self_id, self_url, server::kMaxApiAlternates);
  say(fmt::format("live: {}; the boot environment tries {} after {}",
                  names.empty() ? "none" : names, out.api_alternates.size(), self_url));
  return out;
}

int runExplain(const ExplainArgs& args, std::ostream& out, std::ostream& err) {
  ExplainQuery query;
  if (!toQuery(args, query, err)) return 2;
  auto loaded = cluster::loadConfigFile(args.file);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) err << e.str() << '\n';
    return 1;
  }
  const auto inv = cluster::Inventory::build(loaded.config);
  const auto explanation = explain(inv, query);
  out << renderText(inv.config(), explanation) << '\n'
      << renderDhcpText(explainDhcp(inv, query)) << '\n';
  // The CA agents pin, when `drover serve` has already made it in the state directory.
  std::string ca;
  const auto ca_file =
      std::filesystem::path(inv.config().server.state.path).parent_path() / "tls" / "ca.crt";
  std::error_code ec;
  if (std::filesystem::exists(ca_file, ec))
    if (auto fp = http::certificateFingerprint(ca_file)) ca = *fp;
  const auto replicas = liveReplicas(inv.config());
  out << replicas.line
      << renderScriptText(explainScript(inv.config(), explanation, ca, replicas.api_alternates));
  if (auto grub = renderGrubText(inv.config(), explanation); !grub.empty()) out << '\n' << grub;
  return 0;
}

}  // namespace

void addExplainCommand(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand("explain", "Show how a machine would be matched and booted");
  auto args = std::make_shared<ExplainArgs>();
  cmd->add_option("FILE", args->file, "cluster declaration (YAML)")->required();
  cmd->add_option("--mac", args->mac, "the machine's MAC address (any common form)")->required();
  cmd->add_option("--uuid", args->uuid, "its SMBIOS UUID (DHCP option 97)");
  cmd->add_option("--arch", args->arch, "firmware, by name or DHCP option 93 code: " + archNames())
      ->capture_default_str();
  cmd->add_flag("--ipxe", args->ipxe, "the machine is already running iPXE (option 77 \"iPXE\")");
  cmd->add_option(
      "--state", args->state,
      "the node's state record: none (default), discovered, installing, installed, joined, failed");
  cmd->add_flag("--installed", args->installed, "same as --state installed");
  cmd->add_flag("--reinstall", args->reinstall,
                "the operator asked for a reinstall (needs --state)");
  cmd->add_flag("--capture", args->capture, "the operator asked for a capture (needs --state)");
  cmd->add_option("--via", args->via,
                  "address the request arrives on: relay giaddr or interface address");
  cmd->callback([&ctx, args] { ctx.exit_code = runExplain(*args, ctx.out, ctx.err); });
}

}  // namespace drover::cli
