#include "sim/runner.hpp"

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "sim/dhcp_client.hpp"
#include "sim/machine.hpp"
#include "sim/schedule.hpp"
#include "tftp/wire/packet.hpp"

namespace drover::sim {

using asio::redirect_error;
using asio::use_awaitable;

Status validate(const Config& c) {
  if (c.clients == 0) return makeError("config", "clients must be at least 1");
  if (c.concurrency == 0) return makeError("config", "concurrency must be at least 1");
  if (!c.script_url.empty()) {
    if (!c.script_url.starts_with("http://")) return makeError("config", "the script URL must start with http://");
    if (c.bind_leased) return makeError("config", "an HTTP-only run has no leases to bind to");
  } else {
    if (c.server.isUnspecified()) return makeError("config", "the DHCP server address is required");
    if (c.relay.isUnspecified()) return makeError("config", "the relay address (giaddr) is required");
  }
  if (c.dhcp_timeouts.empty()) return makeError("config", "at least one DHCP timeout is required");
  if (c.blksize < tftp::wire::kMinBlksize) return makeError("config", "blksize must be at least 8");
  if (c.windowsize == 0) return makeError("config", "windowsize must be at least 1");
  if (c.deadline.count() <= 0) return makeError("config", "the deadline must be positive");
  return {};
}

namespace {

// The storm's moving parts, alive for one run() on one thread.
class Storm {
 public:
  Storm(asio::io_context& io, const Config& config, std::vector<ClientRecord>& records,
        const std::function<void(const Progress&)>& progress)
      : io_(io), config_(config), records_(records), progress_(progress), relay_(io, config),
        slot_(io), ticker_(io) {}

  Status start() {
    if (config_.script_url.empty())
      if (auto st = relay_.open(); !st) return st;
    start_ = Clock::now();
    asio::co_spawn(io_, launch(), asio::detached);
    asio::co_spawn(io_, tick(), asio::detached);
    return {};
  }

  double elapsedMs() const { return std::chrono::duration<double, std::milli>(Clock::now() - start_).count(); }

  Progress progress(bool final) const {
    Progress p;
    p.elapsed_s = elapsedMs() / 1000.0;
    p.started = started_;
    p.active = active_;
    p.completed = completed_;
    p.failed = failed_;
    p.total = config_.clients;
    p.final = final;
    return p;
  }

 private:
  asio::awaitable<void> launch() {
    const auto schedule = powerOnSchedule(config_.clients, config_.spread, config_.seed);
    const auto limit = start_ + config_.run_limit;
    boost::system::error_code ec;
    for (const auto index : startOrder(schedule)) {
      auto& record = records_[index];
      record.index = index;
      // Machines whose time has come start now, without a trip through the event queue
      // each: a busy queue (a storm's downloads) would otherwise stretch a simultaneous
      // power-on over seconds.
      if (Clock::now() < start_ + schedule[index]) {
        asio::steady_timer at(io_);
        at.expires_at(start_ + schedule[index]);
        co_await at.async_wait(redirect_error(use_awaitable, ec));
      }
      while (active_ >= config_.concurrency && Clock::now() < limit) {
        slot_.expires_at(limit);
        co_await slot_.async_wait(redirect_error(use_awaitable, ec));
      }
      if (Clock::now() >= limit) {
        // The run's safety bound: machines not yet powered on are reported as such.
        record.failure = "run_limit";
        record.power_on_ms = record.done_ms = elapsedMs();
        ++failed_;
        continue;
      }
      record.power_on_ms = elapsedMs();
      ++started_;
      ++active_;
      asio::co_spawn(io_, machine(record), asio::detached);
    }
    launched_ = true;
    finishIfDone();
  }

  asio::awaitable<void> machine(ClientRecord& record) {
    co_await bootMachine(io_, config_, relay_, start_, record);
    --active_;
    ++(record.ok ? completed_ : failed_);
    slot_.cancel();
    finishIfDone();
  }

  asio::awaitable<void> tick() {
    boost::system::error_code ec;
    while (!done_) {
      ticker_.expires_after(std::chrono::seconds(1));
      co_await ticker_.async_wait(redirect_error(use_awaitable, ec));
      if (!done_ && progress_) progress_(progress(false));
    }
  }

  void finishIfDone() {
    if (!launched_ || active_ > 0 || done_) return;
    done_ = true;
    relay_.close();
    ticker_.cancel();
  }

  asio::io_context& io_;
  const Config& config_;
  std::vector<ClientRecord>& records_;
  const std::function<void(const Progress&)>& progress_;
  Relay relay_;
  asio::steady_timer slot_;    // woken when a machine finishes (concurrency limit)
  asio::steady_timer ticker_;  // progress
  Clock::time_point start_;
  std::uint32_t started_ = 0, active_ = 0, completed_ = 0, failed_ = 0;
  bool launched_ = false;
  bool done_ = false;
};

}  // namespace

Result<Summary> Runner::run(const std::function<void(const Progress&)>& progress) {
  if (auto st = validate(config_); !st) return st.error();
  records_.assign(config_.clients, ClientRecord{});
  asio::io_context io(1);
  Storm storm(io, config_, records_, progress);
  if (auto st = storm.start(); !st) return st.error();
  io.run();
  if (progress) progress(storm.progress(true));
  return summarize(records_, storm.elapsedMs());
}

}  // namespace drover::sim
