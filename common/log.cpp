#include "common/log.hpp"
#include "common/log_sink.hpp"

#include <mutex>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace drover::log {
namespace {

std::mutex g_mu;
spdlog::level::level_enum g_level = spdlog::level::info;
std::string g_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";
spdlog::sink_ptr g_sink;  // null: each logger has its own stderr sink

}  // namespace

void setup(std::string_view level, bool json) {
  std::lock_guard lock(g_mu);
  g_level = spdlog::level::from_str(std::string(level));
  if (json) {
    g_pattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","logger":"%n","msg":"%v"})";
  }
  spdlog::set_level(g_level);
  spdlog::set_pattern(g_pattern);
}

void useSink(spdlog::sink_ptr sink) {
  std::lock_guard lock(g_mu);
  sink->set_pattern(g_pattern);
  g_sink = sink;
  spdlog::apply_all(
      [&](const std::shared_ptr<spdlog::logger>& logger) { logger->sinks().assign(1, sink); });
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(g_mu);
  if (auto existing = spdlog::get(component)) return existing;
  std::shared_ptr<spdlog::logger> logger;
  if (g_sink) {
    logger = std::make_shared<spdlog::logger>(component, g_sink);
    spdlog::register_logger(logger);
  } else {
    logger = spdlog::stderr_color_mt(component);
  }
  logger->set_level(g_level);
  logger->set_pattern(g_pattern);
  return logger;
}

std::string sanitize(std::string_view s, std::size_t max_len) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\' && c != '"') {
      out.push_back(c);
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  return out;
}

bool RateLimit::allow(std::uint64_t& suppressed) {
  using namespace std::chrono;
  const auto now = duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  auto start = window_start_.load(std::memory_order_relaxed);
  if (now - start >= period_ms_ &&
      window_start_.compare_exchange_strong(start, now, std::memory_order_relaxed)) {
    used_.store(0, std::memory_order_relaxed);
  }
  if (used_.fetch_add(1, std::memory_order_relaxed) < burst_) {
    suppressed = dropped_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace drover::log
