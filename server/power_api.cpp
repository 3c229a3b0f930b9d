#include "server/power_api.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "power/credentials.hpp"
#include "server/handoff.hpp"

namespace drover::server {
namespace {

using http::Response;
using HttpStatus = http::Status;
using nlohmann::json;

power::BmcConfig bmcConfig(const cluster::NodeBmc& b) {
  power::BmcConfig c;
  c.driver = b.driver == cluster::BmcDriver::Redfish ? power::Driver::Redfish : power::Driver::Ipmi;
  c.address = b.address;
  c.system_id = b.system;
  c.ca_file = b.ca_file;
  c.insecure = b.insecure;
  c.timeout = b.timeout;
  return c;
}

Response failure(const Error& e) {
  auto status = HttpStatus::bad_gateway;  // the BMC's own failures
  if (e.code == "bmc_credentials" || e.code == "bmc_config")
    status = HttpStatus::internal_server_error;
  else if (e.code == "not_found")
    status = HttpStatus::not_found;
  else if (e.code == "no_bmc" || e.code == "bmc_busy")
    status = HttpStatus::conflict;
  else if (e.code == "bmc_rate_limited")
    status = HttpStatus::too_many_requests;
  return Response::error(status, e.code, e.message);
}

// The node's BMC, opened and counted, with the pass that keeps other operations on this
// node out while it is used; or the response to send.
struct BmcSession {
  std::unique_ptr<power::Bmc> bmc;
  std::optional<power::PowerGate::Pass> pass;
  std::string address;
};

Result<BmcSession> open(Context& ctx, const std::string& name) {
  auto snapshot = ctx.source.current();
  const auto* node = snapshot->inventory.findNode(name);
  if (!node) return makeError("not_found", "no such node");
  if (!node->bmc) return makeError("no_bmc", fmt::format("{} declares no bmc", name));
  const auto& decl = *node->bmc;
  auto creds = power::lookupCredentials(ctx.state_dir, decl.credentials);
  if (!creds) return creds.error();
  auto bmc = power::makeBmc(bmcConfig(decl), *creds);
  if (!bmc) return bmc.error();
  auto pass = ctx.power_gate->enter(name, decl.address);
  if (!pass) return pass.error();
  BmcSession s;
  s.bmc = std::make_unique<power::CountedBmc>(std::move(*bmc), ctx.registry);
  s.pass.emplace(std::move(*pass));
  s.address = decl.address;
  return s;
}

void logOutcome(const std::string& name, std::string_view what, const Status& st) {
  static const auto logger = log::get("power");
  if (st) {
    logger->info("POWER_DONE node={} action={}", name, what);
  } else {
    logger->warn("POWER_FAILED node={} action={} error={} message={}", name, what, st.error().code,
                 st.error().message);
  }
}

// Runs `action` on the BMC with its timeline entries: "power" when asked, then "power" or
// "power_failed" with the outcome.
Status act(Context& ctx, const std::string& name, power::Bmc& bmc, power::PowerAction action) {
  auto st = bmc.set(action);
  logOutcome(name, power::toString(action), st);
  recordEvent(ctx, name, st ? "power" : "power_failed",
              st ? fmt::format("power {}: done", power::toString(action))
                 : fmt::format("power {}: {}: {}", power::toString(action), st.error().code,
                               st.error().message));
  return st;
}

}  // namespace

Response powerStatus(Context& ctx, const std::string& name) {
  auto opened = open(ctx, name);
  if (!opened) return failure(opened.error());
  auto& s = *opened;
  auto state = s.bmc->status();
  if (!state) return failure(state.error());
  json j = {{"node", name},
            {"driver", power::toString(s.bmc->driver())},
            {"power", power::toString(*state)}};
  if (auto boot = s.bmc->nextBoot()) {
    j["next_boot"] = boot->valid ? power::toString(boot->device) : "none";
    j["next_boot_once"] = boot->once;
  }
  return Response::json(HttpStatus::ok, j.dump());
}

Response powerAction(Context& ctx, const std::string& name, const std::string& body) {
  auto doc = json::parse(body, nullptr, false);
  std::optional<power::PowerAction> action;
  if (doc.is_object() && doc.contains("action") && doc["action"].is_string())
    action = power::parsePowerAction(doc["action"].get<std::string>());
  if (!action)
    return Response::error(HttpStatus::bad_request, "bad_request",
                           R"(the body is {"action": "on" | "off" | "cycle" | "reset"})");
  auto opened = open(ctx, name);
  if (!opened) return failure(opened.error());
  auto& s = *opened;
  recordEvent(ctx, name, "power",
              fmt::format("operator asked: power {} ({} {})", power::toString(*action),
                          power::toString(s.bmc->driver()), s.address));
  if (auto st = act(ctx, name, *s.bmc, *action); !st) return failure(st.error());
  return Response::json(HttpStatus::ok,
                        json{{"node", name}, {"action", power::toString(*action)}}.dump());
}

Status sendByBmc(Context& ctx, const std::string& name, std::string* action_out) {
  auto opened = open(ctx, name);
  if (!opened) return opened.error();
  auto& s = *opened;
  recordEvent(ctx, name, "power", "reinstall: next boot from the network once, then power cycle");
  if (auto st = power::setNextBootVerified(*s.bmc, power::BootDevice::Network, true); !st) {
    logOutcome(name, "boot-network", st);
    recordEvent(
        ctx, name, "power_failed",
        st.error().code == "bmc_ignored_boot_override"
            ? "bmc ignored boot override: " + st.error().message
            : fmt::format("next boot network: {}: {}", st.error().code, st.error().message));
    return st;
  }
  recordEvent(ctx, name, "power", "next boot: network (once), read back");
  auto state = s.bmc->status();
  if (!state) {
    recordEvent(ctx, name, "power_failed",
                fmt::format("power status: {}: {}", state.error().code, state.error().message));
    return state.error();
  }
  const auto action =
      *state == power::PowerState::On ? power::PowerAction::Cycle : power::PowerAction::On;
  if (auto st = act(ctx, name, *s.bmc, action); !st) return st;
  if (action_out) *action_out = std::string(power::toString(action));
  return {};
}

Response powerReinstall(Context& ctx, const std::string& name) {
  std::string action;
  auto st = sendByBmc(ctx, name, &action);
  if (!st) {
    const auto& code = st.error().code;
    // A BMC that could not send the node is a failed handoff; a busy or missing one is not.
    const bool handoff = ctx.handoff && code != "bmc_busy" && code != "bmc_rate_limited" &&
                         code != "not_found" && code != "no_bmc";
    if (handoff && ctx.handoff->bmcFailed(name, st.error().message))
      return failure(Error{code, st.error().message +
                                     "; the node's agent is asked to reboot into the network "
                                     "instead (see its timeline)"});
    return failure(st.error());
  }
  json j = {{"reinstall", "requested"}, {"power", action}, {"next_boot", "network"}};
  if (ctx.handoff) {
    ctx.handoff->sentByBmc(name);
    j["handoff_deadline"] = formatDeadline(handoffDeadline(ctx));
  }
  return Response::json(HttpStatus::ok, j.dump());
}

std::shared_ptr<HandoffWatch> makeHandoffWatch(Context& ctx) {
  Context* c = &ctx;
  HandoffWatch::Hooks h;
  h.now_ms = state::nowMs;
  h.deadline = [c] { return handoffDeadline(*c); };
  h.has_bmc = [c](const std::string& node) {
    const auto* decl = c->source.current()->inventory.findNode(node);
    return decl != nullptr && decl->bmc.has_value();
  };
  h.has_agent = [c](const std::string& node) { return agentReachable(*c, node); };
  h.bmc_send = [c](const std::string& node) { return sendByBmc(*c, node); };
  // The NIC the boot environment registered through, else the record's or the declared one.
  h.mac_of = [c](const std::string& node) -> std::string {
    if (auto rec = c->store.getNode(node); rec && *rec) {
      auto facts = json::parse((*rec)->facts_json, nullptr, false);
      if (facts.is_object() && facts.contains("mac") && facts["mac"].is_string() &&
          !facts["mac"].get<std::string>().empty())
        return facts["mac"].get<std::string>();
      if (!(*rec)->mac.empty()) return (*rec)->mac;
    }
    const auto* decl = c->source.current()->inventory.findNode(node);
    return decl && !decl->macs.empty() ? decl->macs.front().value.str() : std::string();
  };
  h.record = [c](const std::string& node, std::string phase, std::string message) {
    recordEvent(*c, node, std::move(phase), std::move(message));
  };
  // A network boot on the shared timeline: its script, or DHCP from PXE firmware (which
  // names its architecture: the DHCP entries carry arch=).
  h.seen_since = [c](const std::string& node, std::int64_t since) -> std::string {
    auto tl = c->store.timeline(node, 50);
    if (!tl) return "";
    for (auto it = tl->rbegin(); it != tl->rend() && it->ts_ms >= since; ++it) {
      const bool dhcp = it->phase == "dhcp_offer" || it->phase == "dhcp_ack";
      if (it->phase == "script_served" || (dhcp && it->message.find(" arch=") != std::string::npos))
        return it->phase;
    }
    return "";
  };
  h.registry = &ctx.registry;
  h.store = &ctx.store;
  return std::make_shared<HandoffWatch>(std::move(h));
}

}  // namespace drover::server
