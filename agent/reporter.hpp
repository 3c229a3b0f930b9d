// What the boot-environment modes that talk to the API (install, capture) share: the API
// options taken from the boot parameters, timeline events (always logged; sent once the
// node has its credential), and the final reboot.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/api_client.hpp"
#include "agent/cmdline.hpp"

namespace spdlog {
class logger;
}

namespace drover::agent {

// `retry` tuning with the base URL and the pinned CA fingerprint of `params`.
ApiOptions apiOptionsFor(ApiOptions retry, const BootParams& params);

class BootReporter {
 public:
  explicit BootReporter(ApiClient& api);

  // Events are sent from now on (they need the node credential the register call gave).
  void enable() { reporting_ = true; }

  // Logs the phase and, when enabled, reports it; a lost report is logged, not fatal.
  void event(std::string_view phase, const std::string& message, std::optional<double> progress = {});

  // Unless `reboot` is false: reports `rebooting`, then runs `reboot_fn` or, without one,
  // sync(2) + reboot(RB_AUTOBOOT).
  void reboot(bool reboot, const std::function<void()>& reboot_fn);

 private:
  ApiClient& api_;
  std::shared_ptr<spdlog::logger> log_;
  bool reporting_ = false;
};

}  // namespace drover::agent
