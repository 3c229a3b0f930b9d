// The data the dashboard shows beyond the operator API's own calls (server/ui_routes.hpp).
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "boot/decision.hpp"
#include "boot/template_data.hpp"
#include "server/api_routes.hpp"
#include "server/boot_routes.hpp"
#include "server/server_files.hpp"
#include "server/ui_routes.hpp"
#include "state/node_state.hpp"
#include "templates/template.hpp"

namespace drover::server {
namespace {

using http::Response;
using HttpStatus = http::Status;
using nlohmann::json;

constexpr std::int64_t kHourMs = 3600 * 1000;
constexpr int kChartHours = 24;

std::string baseState(const std::string& s) {
  return s.substr(0, s.find('+'));
}

std::string lastFailure(Context& ctx, const std::string& name) {
  auto tl = ctx.store.timeline(name, 200);
  if (!tl) return {};
  for (auto it = tl->rbegin(); it != tl->rend(); ++it)
    if (it->phase == "failed" || it->phase == "capture_failed") return it->message;
  return {};
}

// name=value pairs of the DHCP, TFTP and HTTP series in the registry's exposition.
json counters(const metrics::Registry& registry) {
  json out = json::object();
  std::istringstream in(registry.render());
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() == '#') continue;
    if (!line.starts_with("drover_dhcp_") && !line.starts_with("drover_tftp_") &&
        !line.starts_with("drover_http_"))
      continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string networkOf(const cluster::Config& c, const cluster::Node& n) {
  if (!n.ip) return {};
  for (const auto& net : c.networks)
    if (net.subnet.value.contains(n.ip->value)) return net.name.value;
  return {};
}

// Hardware facts in a few fields, for the table of discovered machines. The facts are what
// a machine reported: any field may be missing or of another type.
json factSummary(const json& f) {
  auto str = [](const json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                  : std::string();
  };
  auto num = [](const json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_number_integer()
               ? j[key].get<std::int64_t>()
               : std::int64_t{0};
  };
  auto field = [](const json& j, const char* key) {
    return j.is_object() && j.contains(key) ? j[key] : json();
  };
  std::int64_t disk_bytes = 0;
  std::size_t disks = 0;
  if (const auto d = field(f, "disks"); d.is_array()) {
    disks = d.size();
    for (const auto& disk : d) disk_bytes += num(disk, "size_bytes");
  }
  const auto cpu = field(f, "cpu");
  const auto smbios = field(f, "smbios");
  return {{"arch", str(f, "arch")},
          {"uuid", str(f, "uuid")},
          {"cpu", str(cpu, "model")},
          {"cpus", num(cpu, "count")},
          {"memory_bytes", num(f, "memory_bytes")},
          {"disks", disks},
          {"disk_bytes", disk_bytes},
          {"vendor", str(smbios, "vendor")},
          {"product", str(smbios, "product")}};
}

std::string cloudConfigText(const boot::Snapshot& snapshot, const cluster::Node& decl) {
  const auto& c = snapshot.inventory.config();
  const auto* profile = c.findProfile(c.profileNameOf(decl));
  auto data = boot::templateData(snapshot.inventory, decl);
  if (profile && profile->cloud_config) {
    auto rendered =
        templates::render(profile->cloud_config->value, readFile(profile->cloud_config_file), data);
    if (!rendered) return "# template error: " + rendered.error().message + "\n";
    return std::move(*rendered);
  }
  json doc = {{"hostname", decl.name.value}, {"ssh_authorized_keys", data["ssh_authorized_keys"]}};
  return "#cloud-config\n" + doc.dump(2) + "\n";
}

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

Response uiOverview(Context& ctx) {
  auto rows = nodeRows(ctx);
  if (!rows)
    return Response::error(HttpStatus::internal_server_error, "store_error", rows.error().message);
  const auto now = state::nowMs();
  json by_state = json::object();
  json booting = json::array();
  json failures = json::array();
  std::vector<int> per_hour(kChartHours, 0);
  for (const auto& r : *rows) {
    const auto name = r["name"].get<std::string>();
    const auto state = baseState(r["state"].get<std::string>());
    by_state[state] = by_state.value(state, 0) + 1;
    if (state == "installing")
      booting.push_back({{"name", name},
                         {"phase", r["last_event"]},
                         {"ts", r["last_event_ts"]},
                         {"since", r["since"]}});
    if (state == "failed" && failures.size() < 200)
      failures.push_back(
          {{"name", name}, {"reason", lastFailure(ctx, name)}, {"since", r["since"]}});
    if (state == "installed" || state == "joined") {
      const auto age = now - r["since"].get<std::int64_t>();
      if (age >= 0 && age < kChartHours * kHourMs)
        ++per_hour[kChartHours - 1 - static_cast<int>(age / kHourMs)];
    }
  }
  json chart = json::array();
  for (int i = 0; i < kChartHours; ++i)
    chart.push_back({{"hour_start", (now / kHourMs - (kChartHours - 1 - i)) * kHourMs},
                     {"count", per_hour[i]}});
  json out = {{"total", rows->size()},
              {"by_state", by_state},
              {"booting", booting},
              {"failures", failures},
              {"completed_per_hour", chart},
              {"counters", counters(ctx.registry)},
              {"now", now}};
  return Response::json(HttpStatus::ok, out.dump());
}

Response uiNodes(Context& ctx) {
  auto rows = nodeRows(ctx);
  if (!rows)
    return Response::error(HttpStatus::internal_server_error, "store_error", rows.error().message);
  auto snapshot = ctx.source.current();
  const auto& c = snapshot->inventory.config();
  std::map<std::string, const state::NodeRecord*> undeclared;
  auto records = ctx.store.listNodes();
  if (!records)
    return Response::error(HttpStatus::internal_server_error, "store_error",
                           records.error().message);
  for (const auto& rec : *records) undeclared[rec.name] = &rec;
  for (auto& r : *rows) {
    const auto name = r["name"].get<std::string>();
    if (const auto* decl = snapshot->inventory.findNode(name)) {
      r["labels"] = decl->labels;
      r["network"] = networkOf(c, *decl);
    } else {
      r["labels"] = json::object();
      r["network"] = "";
      if (auto it = undeclared.find(name); it != undeclared.end())
        r["facts"] = factSummary(json::parse(it->second->facts_json, nullptr, false));
    }
  }
  return Response::json(HttpStatus::ok, rows->dump());
}

Response uiPreview(Context& ctx, const std::string& name) {
  auto snapshot = ctx.source.current();
  const auto& config = snapshot->inventory.config();
  const auto* decl = snapshot->inventory.findNode(name);
  auto rec = ctx.store.getNode(name);
  if (!rec)
    return Response::error(HttpStatus::internal_server_error, "store_error", rec.error().message);
  if (!decl && !*rec) return Response::error(HttpStatus::not_found, "not_found", "no such node");

  std::optional<MacAddress> mac;
  if (decl && !decl->macs.empty())
    mac = decl->macs.front().value;
  else if (*rec)
    if (auto m = MacAddress::parse((*rec)->mac); m) mac = *m;
  json out = {{"script_kind", ""}, {"script", ""}, {"cloud_config", ""}};
  if (mac) {
    std::optional<Uuid> uuid;
    if (decl && decl->uuid) uuid = decl->uuid->value;
    const auto match = snapshot->inventory.match(*mac, uuid);
    std::optional<state::NodeStatus> status;
    if (*rec) status = (*rec)->status;
    boot::ClientIdentity client;
    client.ipxe = true;
    const auto decision = boot::decide(config, match, client, status);
    const ScriptEndpoints at{httpBase(ctx, config), apiUrl(ctx, config), ctx.ca_fingerprint,
                             apiAlternates(ctx)};
    constexpr std::string_view kToken = "drover-preview-token";
    auto params = scriptParams(config, decision.script, name, false, "", decision.profile, at);
    std::string text;
    if (!params) {
      text = refusalScript(params.error().message);
    } else {
      if (needsBootToken(decision.script)) params->token = std::string(kToken);
      if (decision.script == boot::ScriptKind::kFailed) params->message = lastFailure(ctx, name);
      if (decision.script == boot::ScriptKind::kIgnore) params->message = decision.reason;
      auto rendered = templates::renderScript(decision.script, *params);
      text = rendered ? std::move(*rendered)
                      : refusalScript("script error: " + rendered.error().message);
    }
    replaceAll(text, kToken, "<boot token, issued when served>");
    out["script_kind"] = std::string(templates::scriptName(decision.script));
    out["script"] = text;
  }
  out["cloud_config"] = decl ? maskSecrets(cloudConfigText(*snapshot, *decl)) : std::string();
  return Response::json(HttpStatus::ok, out.dump());
}

}  // namespace drover::server
