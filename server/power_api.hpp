// Power over the operator API, through the node's declared BMC (power/):
//   GET  /v1/nodes/{name}/power                  {"node","driver","power":"on"|"off"}
//   POST /v1/nodes/{name}/power {"action": on|off|cycle|reset}
//   POST /v1/nodes/{name}/reinstall {"power": true}: mark for reinstall, next boot from the
//        network once (read back), then power cycle (power on when it is off)
// One operation at a time (power/gate.hpp): a request while another one is still running,
// for this node or another, answers 409 bmc_busy at once, since it would hold one of the
// API's threads while it waits on the BMC; more than the gate's burst per BMC answers 429.
// A BMC's failure answers 502 with its code (bmc_timeout, bmc_auth, ...); missing
// credentials 500.
// Every action and its outcome go on the node's timeline (phases power, power_failed).
#pragma once

#include <memory>
#include <string>

#include "http/message.hpp"
#include "server/context.hpp"

namespace drover::server {

http::Response powerStatus(Context& ctx, const std::string& name);
http::Response powerAction(Context& ctx, const std::string& name, const std::string& body);
// After the reinstall was requested: boot override and power cycle, then the handoff is
// watched (server/handoff.hpp).
http::Response powerReinstall(Context& ctx, const std::string& name);
// The same without the HTTP answer: override, read back, power on or cycle, each step on
// the timeline. `action_out` receives "on" or "cycle".
Status sendByBmc(Context& ctx, const std::string& name, std::string* action_out = nullptr);

// The handoff watch of `drover serve`, its hooks wired to `ctx` (declaration, presence,
// store, BMCs, timeline, metrics).
std::shared_ptr<HandoffWatch> makeHandoffWatch(Context& ctx);

}  // namespace drover::server
