#include "agent/reporter.hpp"

#include <sys/reboot.h>
#include <unistd.h>

#include "common/log.hpp"

namespace drover::agent {

ApiOptions apiOptionsFor(ApiOptions retry, const BootParams& params) {
  retry.base = params.api;
  retry.alternates = params.api_alternates;
  retry.tls.ca_fingerprint = params.ca_fingerprint;
  return retry;
}

BootReporter::BootReporter(ApiClient& api) : api_(api), log_(log::get("agent")) {}

void BootReporter::event(std::string_view phase, const std::string& message, std::optional<double> progress) {
  log_->info("AGENT_EVENT phase={} message=\"{}\"", phase, log::sanitize(message, 200));
  if (!reporting_) return;
  if (auto st = api_.event(phase, message, progress); !st) {
    log_->warn("AGENT_EVENT_LOST phase={} reason=\"{}\"", phase, log::sanitize(st.error().message, 200));
  }
}

void BootReporter::reboot(bool reboot, const std::function<void()>& reboot_fn) {
  if (!reboot) return;
  event("rebooting", "");
  if (reboot_fn) {
    reboot_fn();
    return;
  }
  ::sync();
  ::reboot(RB_AUTOBOOT);
}

}  // namespace drover::agent
