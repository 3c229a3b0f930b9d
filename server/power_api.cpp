#include "server/power_api.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "power/credentials.hpp"

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
  const bool ours = e.code == "bmc_credentials" || e.code == "bmc_config";
  return Response::error(ours ? HttpStatus::internal_server_error : HttpStatus::bad_gateway, e.code,
                         e.message);
}

// The node's BMC, opened and counted, with the pass that keeps other operations on this
// node out while it is used; or the response to send.
struct Session {
  std::unique_ptr<power::Bmc> bmc;
  std::optional<power::PowerGate::Pass> pass;
  std::string address;
};

std::variant<Session, Response> open(Context& ctx, const std::string& name) {
  auto snapshot = ctx.source.current();
  const auto* node = snapshot->inventory.findNode(name);
  if (!node) return Response::error(HttpStatus::not_found, "not_found", "no such node");
  if (!node->bmc)
    return Response::error(HttpStatus::conflict, "no_bmc", fmt::format("{} declares no bmc", name));
  const auto& decl = *node->bmc;
  auto creds = power::lookupCredentials(ctx.state_dir, decl.credentials);
  if (!creds) return failure(creds.error());
  auto bmc = power::makeBmc(bmcConfig(decl), *creds);
  if (!bmc) return failure(bmc.error());
  auto pass = ctx.power_gate->enter(name, decl.address);
  if (!pass) {
    const bool busy = pass.error().code == "bmc_busy";
    return Response::error(busy ? HttpStatus::conflict : HttpStatus::too_many_requests,
                           pass.error().code, pass.error().message);
  }
  Session s;
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
  if (auto* r = std::get_if<Response>(&opened)) return std::move(*r);
  auto& s = std::get<Session>(opened);
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
  if (auto* r = std::get_if<Response>(&opened)) return std::move(*r);
  auto& s = std::get<Session>(opened);
  recordEvent(ctx, name, "power",
              fmt::format("operator asked: power {} ({} {})", power::toString(*action),
                          power::toString(s.bmc->driver()), s.address));
  if (auto st = act(ctx, name, *s.bmc, *action); !st) return failure(st.error());
  return Response::json(HttpStatus::ok,
                        json{{"node", name}, {"action", power::toString(*action)}}.dump());
}

Response powerReinstall(Context& ctx, const std::string& name) {
  auto opened = open(ctx, name);
  if (auto* r = std::get_if<Response>(&opened)) return std::move(*r);
  auto& s = std::get<Session>(opened);
  recordEvent(ctx, name, "power", "reinstall: next boot from the network once, then power cycle");
  if (auto st = power::setNextBootVerified(*s.bmc, power::BootDevice::Network, true); !st) {
    logOutcome(name, "boot-network", st);
    recordEvent(
        ctx, name, "power_failed",
        st.error().code == "bmc_ignored_boot_override"
            ? "bmc ignored boot override: " + st.error().message
            : fmt::format("next boot network: {}: {}", st.error().code, st.error().message));
    return failure(st.error());
  }
  recordEvent(ctx, name, "power", "next boot: network (once), read back");
  auto state = s.bmc->status();
  if (!state) {
    recordEvent(ctx, name, "power_failed",
                fmt::format("power status: {}: {}", state.error().code, state.error().message));
    return failure(state.error());
  }
  const auto action =
      *state == power::PowerState::On ? power::PowerAction::Cycle : power::PowerAction::On;
  if (auto st = act(ctx, name, *s.bmc, action); !st) return failure(st.error());
  return Response::json(
      HttpStatus::ok,
      json{{"reinstall", "requested"}, {"power", power::toString(action)}, {"next_boot", "network"}}
          .dump());
}

}  // namespace drover::server
