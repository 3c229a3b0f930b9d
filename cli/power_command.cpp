// drover power NAME on|off|cycle|reset|status: the node's BMC, through a running
// `drover serve` (POST / GET /v1/nodes/NAME/power, docs/api.md).
#include <ostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/api_client.hpp"
#include "cli/commands.hpp"

namespace drover::cli {

int runPower(const ApiTarget& target, const std::string& name, const std::string& action,
             std::ostream& out, std::ostream& err) {
  auto api = ApiClient::connect(target);
  if (!api) {
    err << "drover: " << api.error().message << '\n';
    return exitCodeFor(api.error());
  }
  const auto path = "/v1/nodes/" + pathSegment(name) + "/power";
  auto r = action == "status" ? api->call("GET", path)
                              : api->call("POST", path, nlohmann::json{{"action", action}}.dump());
  if (!r) {
    err << "drover: " << name << ": power " << action << ": " << r.error().message << '\n';
    return exitCodeFor(r.error());
  }
  auto j = nlohmann::json::parse(*r, nullptr, false);
  if (action == "status" && j.is_object()) {
    out << name << ": power " << j.value("power", "?") << " (" << j.value("driver", "?") << ")";
    if (j.contains("next_boot") && j["next_boot"].is_string() && j["next_boot"] != "none")
      out << ", next boot " << j["next_boot"].get<std::string>()
          << (j.value("next_boot_once", true) ? " once" : "");
    out << '\n';
  } else {
    out << name << ": power " << action << " done\n";
  }
  return 0;
}

void addPowerCommand(CLI::App& root, Context& ctx) {
  struct Flags {
    ApiTarget target;
    std::string name;
    std::string action;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = root.add_subcommand(
      "power", "Power a node on, off, cycle or reset it, or show its state, through its BMC");
  cmd->add_option("name", f->name, "Node name")->required();
  cmd->add_option("action", f->action, "on | off | cycle | reset | status")
      ->required()
      ->check(CLI::IsMember({"on", "off", "cycle", "reset", "status"}));
  addTargetOptions(cmd, f->target);
  cmd->callback(
      [f, &ctx] { ctx.exit_code = runPower(f->target, f->name, f->action, ctx.out, ctx.err); });
}

}  // namespace drover::cli
