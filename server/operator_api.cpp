// /v1/nodes: what operators (and `drover nodes`) call.
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "server/api_auth.hpp"
#include "server/api_routes.hpp"
#include "server/capture_api.hpp"
#include "server/etcd_removal.hpp"
#include "server/handoff.hpp"
#include "server/image_updates.hpp"
#include "server/power_api.hpp"

namespace drover::server {
namespace {

using http::Request;
using http::Response;
using HttpStatus = http::Status;
using nlohmann::json;

std::string stateName(const std::optional<state::NodeRecord>& rec) {
  if (!rec) return "new";
  return std::string(state::toString(rec->status.state)) +
         (rec->status.reinstall_requested ? "+reinstall" : "") +
         (rec->status.capture_requested ? "+capture" : "");
}

// One row of the node table: the declaration and the stored record, either may be absent.
// `last_events`: every node's latest timeline entry (StateStore::lastEvents), read once for
// a whole table; null: this node's is read.
json nodeSummary(Context& ctx, const cluster::Config& c, const cluster::Node* decl,
                 const std::optional<state::NodeRecord>& rec, const std::string& name,
                 const std::map<std::string, state::TimelineEntry>* last_events = nullptr) {
  json j = {{"name", name},
            {"mac", ""},
            {"ip", ""},
            {"profile", ""},
            {"state", stateName(rec)},
            {"since", rec ? rec->state_since_ms : 0},
            {"last_event", ""},
            {"last_event_ts", 0},
            {"declared", decl != nullptr},
            {"last_seen", ctx.presence->lastSeen(name)}};
  if (decl) {
    if (!decl->macs.empty()) j["mac"] = decl->macs.front().value.str();
    if (decl->ip) j["ip"] = decl->ip->value.str();
    j["profile"] = c.profileNameOf(*decl);
  }
  if (rec && j["mac"] == "") j["mac"] = rec->mac;
  j["capture"] = rec && rec->status.capture_requested ? rec->capture_image : std::string();
  if (last_events != nullptr) {
    if (auto it = last_events->find(name); it != last_events->end()) {
      j["last_event"] = it->second.phase;
      j["last_event_ts"] = it->second.ts_ms;
    }
  } else if (auto tl = ctx.store.timeline(name, 1); tl && !tl->empty()) {
    j["last_event"] = tl->back().phase;
    j["last_event_ts"] = tl->back().ts_ms;
  }
  return j;
}

Response listNodes(Context& ctx) {
  auto rows = nodeRows(ctx);
  if (!rows)
    return Response::error(HttpStatus::internal_server_error, "store_error", rows.error().message);
  return Response::json(HttpStatus::ok, rows->dump());
}

Response getNode(Context& ctx, const std::string& name) {
  auto snapshot = ctx.source.current();
  const auto& c = snapshot->inventory.config();
  const auto* decl = snapshot->inventory.findNode(name);
  auto rec = ctx.store.getNode(name);
  if (!rec)
    return Response::error(HttpStatus::internal_server_error, "store_error", rec.error().message);
  if (!decl && !*rec) return Response::error(HttpStatus::not_found, "not_found", "no such node");
  auto j = nodeSummary(ctx, c, decl, *rec, name);
  j["facts"] = *rec ? json::parse((*rec)->facts_json, nullptr, false) : json::object();
  if (j["facts"].is_discarded()) j["facts"] = json::object();
  return Response::json(HttpStatus::ok, j.dump());
}

Response nodeEvents(Context& ctx, const std::string& name) {
  auto tl = ctx.store.timeline(name, 1000);
  if (!tl)
    return Response::error(HttpStatus::internal_server_error, "store_error", tl.error().message);
  json out = json::array();
  for (const auto& e : *tl)
    out.push_back({{"ts", e.ts_ms}, {"phase", e.phase}, {"message", e.message}});
  return Response::json(HttpStatus::ok, out.dump());
}

Response reinstall(Context& ctx, const std::string& name) {
  auto snapshot = ctx.source.current();
  auto rec = ctx.store.getNode(name);
  if (!rec)
    return Response::error(HttpStatus::internal_server_error, "store_error", rec.error().message);
  if (!*rec) {
    if (!snapshot->inventory.findNode(name))
      return Response::error(HttpStatus::not_found, "not_found", "no such node");
    // Never booted: its next boot installs anyway.
    return Response::json(HttpStatus::ok, R"({"reinstall":"next boot installs"})");
  }
  auto updated =
      state::applyEvent(ctx.store, name, state::NodeEvent::kReinstallRequested,
                        {state::nowMs(), "reinstall_requested", "operator asked for a reinstall"});
  if (!updated)
    return Response::error(HttpStatus::conflict, updated.error().code, updated.error().message);
  ctx.log->info("NODE_REINSTALL_REQUESTED node={}", name);
  return Response::json(HttpStatus::ok, R"({"reinstall":"requested"})");
}

// Through the node's agent: it sets BootNext to its network entry and reboots at its next
// heartbeat (server/handoff.hpp).
Response rebootReinstall(Context& ctx, const std::string& name) {
  auto asked = ctx.handoff->askAgent(name);
  if (!asked)
    return Response::error(HttpStatus::internal_server_error, "store_error",
                           "the reinstall is requested, but the request to the agent could not "
                           "be stored: " +
                               asked.error().message);
  const auto& id = *asked;
  recordEvent(ctx, name, "handoff",
              fmt::format("asked the agent to set BootNext and reboot at its next heartbeat "
                          "(request {})",
                          id));
  return Response::json(HttpStatus::ok,
                        json{{"reinstall", "requested"},
                             {"reboot", "at the agent's next heartbeat"},
                             {"id", id},
                             {"heartbeat_interval", "30s"},
                             {"handoff_deadline", formatDeadline(handoffDeadline(ctx))}}
                            .dump());
}

Response reinstallRoute(Context& ctx, const std::string& name, const json& body) {
  auto flag = [&](const char* key) { return body.is_object() && body.value(key, false) == true; };
  const bool power = flag("power"), reboot = flag("reboot");
  if (power && reboot)
    return Response::error(HttpStatus::bad_request, "bad_request",
                           "power and reboot are two ways to send the node; ask for one");
  // Refuse before marking anything when there is nothing to act on.
  const auto* decl = ctx.source.current()->inventory.findNode(name);
  if (power && decl && !decl->bmc)
    return Response::error(HttpStatus::conflict, "no_bmc", name + " declares no bmc");
  if (reboot) {
    if (!ctx.handoff)
      return Response::error(HttpStatus::service_unavailable, "not_ready", "starting");
    if (!agentReachable(ctx, name))
      return Response::error(
          HttpStatus::conflict, "agent_unreachable",
          fmt::format("{}'s agent has sent no heartbeat to this server in the last {} s: it is "
                      "not running, or reports to another replica (use --power, or reboot the "
                      "machine into the network by hand)",
                      name, Presence::kGapMs / 1000));
  }
  // An etcd member leaves the cluster before its disk is wiped (server/etcd_removal.hpp).
  if (auto refused = removeEtcdMemberFirst(ctx, name, flag("force"))) return std::move(*refused);
  auto marked = reinstall(ctx, name);
  if (marked.status != HttpStatus::ok) return marked;
  if (power) return powerReinstall(ctx, name);
  if (reboot) return rebootReinstall(ctx, name);
  return marked;
}

}  // namespace

Result<nlohmann::json> nodeRows(Context& ctx) {
  auto snapshot = ctx.source.current();
  const auto& c = snapshot->inventory.config();
  auto records = ctx.store.listNodes();
  if (!records) return records.error();
  auto last = ctx.store.lastEvents();
  if (!last) return last.error();
  std::map<std::string, std::optional<state::NodeRecord>> by_name;
  for (auto& r : *records) by_name[r.name] = r;
  json out = json::array();
  for (const auto& n : c.nodes) {
    auto it = by_name.find(n.name.value);
    std::optional<state::NodeRecord> rec;
    if (it != by_name.end()) {
      rec = it->second;
      by_name.erase(it);
    }
    out.push_back(nodeSummary(ctx, c, &n, rec, n.name.value, &*last));
  }
  for (const auto& [name, rec] : by_name)
    out.push_back(nodeSummary(ctx, c, nullptr, rec, name, &*last));
  return out;
}

void addOperatorRoutes(http::Router& router, Context& ctx, std::shared_ptr<AuthGuard> auth) {
  auto guarded = [&ctx, auth](auto fn) {
    return [&ctx, auth, fn](const Request& req) -> Response {
      if (auto refused = auth->operatorCall(req)) return std::move(*refused);
      return fn(req, ctx);
    };
  };
  using V = http::Verb;
  router.add(V::get, "/v1/nodes", guarded([](const Request&, Context& c) { return listNodes(c); }));
  router.add(V::get, "/v1/nodes/{name}",
             guarded([](const Request& r, Context& c) { return getNode(c, r.params.at("name")); }));
  router.add(V::get, "/v1/nodes/{name}/events", guarded([](const Request& r, Context& c) {
               return nodeEvents(c, r.params.at("name"));
             }));
  router.add(V::post, "/v1/nodes/{name}/reinstall", guarded([](const Request& r, Context& c) {
               auto body = nlohmann::json::parse(r.body(), nullptr, false);
               return reinstallRoute(c, r.params.at("name"), body);
             }));
  router.add(V::get, "/v1/nodes/{name}/power", guarded([](const Request& r, Context& c) {
               return powerStatus(c, r.params.at("name"));
             }));
  router.add(V::post, "/v1/nodes/{name}/power", guarded([](const Request& r, Context& c) {
               return powerAction(c, r.params.at("name"), r.body());
             }));
  router.add(V::post, "/v1/nodes/{name}/capture", guarded([](const Request& r, Context& c) {
               auto body = nlohmann::json::parse(r.body(), nullptr, false);
               std::string image = r.queryOr("image");
               if (image.empty() && body.is_object() && body.contains("image") &&
                   body["image"].is_string())
                 image = body["image"].get<std::string>();
               return requestCapture(c, r.params.at("name"), image);
             }));
  router.add(V::delete_, "/v1/nodes/{name}/capture", guarded([](const Request& r, Context& c) {
               return cancelCapture(c, r.params.at("name"));
             }));
  router.add(V::get, "/v1/images/{image}/events", guarded([](const Request& r, Context& c) {
               return imageEvents(c, r.params.at("image"));
             }));
}

}  // namespace drover::server
