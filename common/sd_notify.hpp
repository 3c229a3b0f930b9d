// The service manager's readiness protocol (sd_notify(3)): one datagram of
// "KEY=VALUE\n" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for
// an abstract socket). Without $NOTIFY_SOCKET (not run by systemd with Type=notify) every
// call is a no-op that succeeds.
//
//   notifyService("READY=1\nSTATUS=serving");      // every listener is up
//   notifyService(reloadingMessage());             // SIGHUP received
//   notifyService("STOPPING=1");                   // draining
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace drover {

// Sends `message` to $NOTIFY_SOCKET if it is set.
Status notifyService(std::string_view message);

// "RELOADING=1\nMONOTONIC_USEC=<now>": what a reload starts with.
std::string reloadingMessage();

}  // namespace drover
