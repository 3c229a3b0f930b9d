// Logging: one named spdlog logger per component ("dhcp", "tftp", "http", "inventory",
// "agent", ...). Each line starts with a stable event name followed by key=value pairs:
//   DHCP_OFFER mac=52:54:00:12:34:56 xid=0x1234 ip=192.0.2.10
// Lines caused by remote input go through RateLimit and sanitize() first.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace drover::log {

// Sets the level ("trace".."off") and pattern for every logger, present and future.
void setup(std::string_view level = "info", bool json = false);

// The component's logger, created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

// Makes a wire string safe for one log line: printable ASCII kept, the rest as \xNN,
// cut to max_len.
std::string sanitize(std::string_view s, std::size_t max_len = 64);

// Allows at most `burst` lines per `period`; the rest are counted and reported by the next
// allowed line ("...suppressed=N").
class RateLimit {
 public:
  explicit RateLimit(int burst = 10, std::chrono::milliseconds period = std::chrono::seconds(1))
      : burst_(burst), period_ms_(period.count()) {}

  // True if a line may be written now; `suppressed` receives how many were dropped since
  // the last allowed line.
  bool allow(std::uint64_t& suppressed);

 private:
  int burst_;
  std::int64_t period_ms_;
  std::atomic<std::int64_t> window_start_{0};
  std::atomic<int> used_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace drover::log
