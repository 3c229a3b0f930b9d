#include "sim/machine.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "sim/http_client.hpp"
#include "sim/ipxe_script.hpp"
#include "sim/schedule.hpp"
#include "sim/tftp_client.hpp"

namespace drover::sim {

namespace wire = dhcp::wire;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

constexpr int kMaxNakRestarts = 3;  // DISCOVER again after a NAK, then give up
constexpr int kMaxChainHops = 4;    // scripts chaining to scripts
constexpr std::uint16_t kTftpPort = 69;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

Error timeoutOrDeadline(Clock::time_point deadline, std::string_view what) {
  if (Clock::now() >= deadline)
    return makeError("deadline", std::string(what) + ": deadline passed");
  return makeError("timeout", std::string(what) + ": no answer after every retransmit");
}

// One DORA with the firmware's retransmit schedule; a NAK starts over.
asio::awaitable<Result<wire::Message>> dora(const Config& config, Relay& relay, const Identity& id,
                                            std::uint32_t xid_base, Clock::time_point deadline,
                                            std::uint32_t& retransmits) {
  for (int restart = 0; restart < kMaxNakRestarts; ++restart) {
    const std::uint32_t xid = xid_base + static_cast<std::uint32_t>(restart);
    const auto began = Clock::now();
    auto secs = [&] {
      return static_cast<std::uint16_t>(
          std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - began).count());
    };
    auto discover = buildDiscover(id, xid, config.relay);
    std::optional<wire::Message> offer;
    for (std::size_t i = 0; i < config.dhcp_timeouts.size() && !offer && Clock::now() < deadline;
         ++i) {
      if (i > 0) ++retransmits;
      discover.secs = secs();
      offer = co_await relay.exchange(discover, wire::MessageType::Offer, config.dhcp_timeouts[i],
                                      deadline);
    }
    if (!offer) co_return timeoutOrDeadline(deadline, "DISCOVER");
    auto request = buildRequest(id, xid, config.relay, *offer);
    std::optional<wire::Message> ack;
    for (std::size_t i = 0; i < config.dhcp_timeouts.size() && !ack && Clock::now() < deadline;
         ++i) {
      if (i > 0) ++retransmits;
      request.secs = secs();
      ack = co_await relay.exchange(request, wire::MessageType::Ack, config.dhcp_timeouts[i],
                                    deadline);
    }
    if (!ack) co_return timeoutOrDeadline(deadline, "REQUEST");
    if (ack->messageType() == static_cast<std::uint8_t>(wire::MessageType::Ack))
      co_return std::move(*ack);
  }
  co_return makeError("nak", "NAK after every REQUEST");
}

Settings settingsFor(const Identity& id, const Lease& lease) {
  const auto mac = id.mac.str();
  const bool efi = id.arch != 0;
  return {{"netX/mac", mac},
          {"net0/mac", mac},
          {"mac", mac},
          {"uuid", id.uuid.str()},
          {"buildarch", id.arch == 11 ? "arm64" : (efi ? "x86_64" : "i386")},
          {"platform", efi ? "efi" : "pcbios"},
          {"ip", lease.address.str()},
          {"netX/ip", lease.address.str()},
          {"next-server", lease.next_server.str()},
          {"filename", lease.boot_file}};
}

// A relative URL ("/x") resolved against the script it came from.
std::string resolve(const std::string& url, const HttpUrl& base) {
  if (url.starts_with("/")) return "http://" + base.host + ":" + std::to_string(base.port) + url;
  return url;
}

class Boot {
 public:
  Boot(asio::io_context& io, const Config& config, Relay& relay, ClientRecord& record,
       Clock::time_point start)
      : io_(io), config_(config), relay_(relay), record_(record), start_(start) {}

  asio::awaitable<void> run() {
    deadline_ = Clock::now() + config_.deadline;
    for (int reboot = 0;; ++reboot) {
      co_await attempt();
      if (record_.ok || reboot >= config_.reboots || Clock::now() >= deadline_) co_return;
      record_.retry_reasons.push_back("reboot_after_" + record_.failure);
      record_.failure.clear();
      bind_.reset();
    }
  }

 private:
  asio::awaitable<void> attempt() {
    Identity id{clientMac(config_.mac_base, record_.index), {}, config_.arch, false};
    id.uuid = clientUuid(id.mac);
    record_.mac = id.mac.str();
    if (!config_.script_url.empty()) {  // HTTP only: no DHCP, no TFTP
      // Named, not temporaries: GCC 12 mis-destroys temporaries inside a co_await.
      const Lease none;
      const auto settings = settingsFor(id, none);
      co_await boot(config_.script_url, settings);
      co_return;
    }
    const std::uint32_t xid_base = (record_.index + 1) << 4;

    auto t = Clock::now();
    auto ack = co_await dora(config_, relay_, id, xid_base, deadline_, record_.dhcp_retransmits);
    if (!ack) co_return fail(Phase::Dhcp, ack.error().code);
    record_.phase_ms[0] = msSince(t);
    auto lease = leaseFrom(*ack);
    if (config_.bind_leased) bind_ = asio::ip::address_v4(lease.address.value());
    std::string script_url = lease.boot_file;

    if (!lease.boot_file.starts_with("http://")) {
      if (lease.boot_file.empty()) co_return fail(Phase::Dhcp, "no_boot_file");
      t = Clock::now();
      TftpRequest req;
      req.server = {asio::ip::address_v4(lease.next_server.value()), kTftpPort};
      req.file = lease.boot_file;
      req.bind = bind_;
      req.probe = config_.tftp_probe;
      req.blksize = config_.blksize;
      req.windowsize = config_.windowsize;
      req.timeout = config_.tftp_timeout;
      req.retries = config_.tftp_retries;
      req.deadline = deadline_;
      auto got = co_await tftpGet(io_, req, &record_.tftp_retransmits);
      if (!got) co_return fail(Phase::Tftp, got.error().code);
      record_.tftp_bytes = got->bytes;
      record_.phase_ms[1] = msSince(t);

      // The loader (iPXE) runs and asks again, as iPXE.
      id.ipxe = true;
      t = Clock::now();
      auto ack2 =
          co_await dora(config_, relay_, id, xid_base + 8, deadline_, record_.dhcp_retransmits);
      if (!ack2) co_return fail(Phase::IpxeDhcp, ack2.error().code);
      record_.phase_ms[2] = msSince(t);
      lease = leaseFrom(*ack2);
      script_url = lease.boot_file;
      if (!script_url.starts_with("http://")) co_return fail(Phase::IpxeDhcp, "no_http_boot_file");
    }
    co_await boot(script_url, settingsFor(id, lease));
  }

  asio::awaitable<void> boot(std::string url, const Settings& settings) {
    HttpConnection conn(io_, bind_);
    auto t = Clock::now();
    std::vector<ScriptAction> actions;
    url = expand(url, settings);
    for (int hop = 0;; ++hop) {
      auto parsed = parseHttpUrl(url);
      if (!parsed) co_return fail(Phase::Script, "bad_url");
      auto script = co_await fetch(conn, *parsed, true, Phase::Script);
      if (!script) co_return fail(Phase::Script, script.error().code);
      actions = parseScript(script->body, settings);
      if (actions.empty() || actions.back().kind != ScriptAction::Kind::Chain) break;
      if (hop + 1 >= kMaxChainHops) co_return fail(Phase::Script, "chain_loop");
      url = resolve(actions.back().url, *parsed);
    }
    record_.phase_ms[3] = msSince(t);
    const auto base = parseHttpUrl(url);
    bool kernel = false;
    for (const auto& a : actions) {
      if (a.kind != ScriptAction::Kind::Kernel && a.kind != ScriptAction::Kind::Initrd) continue;
      const Phase phase = a.kind == ScriptAction::Kind::Kernel ? Phase::Kernel : Phase::Initrd;
      auto target = parseHttpUrl(resolve(a.url, *base));
      if (!target) co_return fail(phase, "bad_url");
      t = Clock::now();
      auto got = co_await fetch(conn, *target, false, phase);
      if (!got) co_return fail(phase, got.error().code);
      // Several initrds add up to one phase.
      auto& slot = record_.phase_ms[static_cast<std::size_t>(phase)];
      slot = slot.value_or(0) + msSince(t);
      kernel = kernel || phase == Phase::Kernel;
    }
    if (!kernel) co_return fail(Phase::Script, "no_kernel");
    record_.ok = true;
    record_.done_ms = msSince(start_);
  }

  // A GET, retried on a fresh connection after a short pause, like a script's retry loop.
  asio::awaitable<Result<HttpReply>> fetch(HttpConnection& conn, const HttpUrl& url, bool keep_body,
                                           Phase phase) {
    for (int attempt = 0;; ++attempt) {
      auto r = co_await conn.get(url, keep_body, config_.http_timeout, deadline_);
      if (r) {
        record_.http_bytes += r->bytes;
        co_return r;
      }
      if (r.error().code == "deadline" || attempt >= config_.http_retries) co_return r;
      ++record_.http_retries;
      record_.retry_reasons.push_back(std::string(phaseName(phase)) + "_" + r.error().code);
      asio::steady_timer pause(io_);
      pause.expires_at(std::min(Clock::now() + Millis(500 * (attempt + 1)), deadline_));
      boost::system::error_code ec;
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
    }
  }

  void fail(Phase phase, const std::string& reason) {
    record_.ok = false;
    record_.failure = std::string(phaseName(phase)) + "_" + reason;
    record_.done_ms = msSince(start_);
  }

  asio::io_context& io_;
  const Config& config_;
  Relay& relay_;
  ClientRecord& record_;
  Clock::time_point start_;
  Clock::time_point deadline_;
  std::optional<asio::ip::address_v4> bind_;
};

}  // namespace

asio::awaitable<void> bootMachine(asio::io_context& io, const Config& config, Relay& relay,
                                  Clock::time_point start, ClientRecord& record) {
  Boot boot(io, config, relay, record, start);
  co_await boot.run();
}

}  // namespace drover::sim
