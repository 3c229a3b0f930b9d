#include "tftp/server/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <string_view>

#include "tftp/server/core.hpp"
#include "tftp/wire/packet.hpp"

namespace drover::tftp {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr std::array<TransferResult, 8> kResults = {
    TransferResult::Ok,           TransferResult::ClientAbort, TransferResult::Timeout,
    TransferResult::Deadline,     TransferResult::NotFound,    TransferResult::AccessDenied,
    TransferResult::Refused,      TransferResult::Error};

// Socket receive buffer of the listener: a few thousand queued requests.
constexpr int kListenReceiveBuffer = 1 << 20;

// A request datagram is small; anything longer than this is not a real client.
constexpr std::size_t kMaxRequestDatagram = 2048;

void logDrop(Server::Core& core, Drop d, const Endpoint& from) {
  std::uint64_t suppressed = 0;
  if (core.log->should_log(spdlog::level::debug) && core.log_limit.allow(suppressed))
    core.log->debug("TFTP_DROP reason={} client={}:{} suppressed={}", dropName(d),
                    from.address().to_string(), from.port(), suppressed);
}

asio::awaitable<void> listen(std::shared_ptr<Server::Core> core) {
  std::vector<std::byte> buf(kMaxRequestDatagram);
  for (;;) {
    Endpoint from;
    boost::system::error_code ec;
    const std::size_t n = co_await core->listener.async_receive_from(
        asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
    if (core->stopping.load()) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
      continue;  // e.g. ECONNREFUSED reported for an earlier send: keep serving
    }
    auto packet = wire::parsePacket(std::span(buf).first(n));
    if (!packet) {
      core->metrics.drop(Drop::Malformed);
      logDrop(*core, Drop::Malformed, from);
      continue;
    }
    auto* req = std::get_if<wire::Request>(&*packet);
    if (req == nullptr) {
      core->metrics.drop(Drop::UnexpectedPacket);
      logDrop(*core, Drop::UnexpectedPacket, from);
      continue;
    }
    auto io = std::make_shared<TransferIo>(asio::make_strand(core->io));
    // Each transfer answers from its own port (its TID), on the listening address.
    io->socket.open(from.protocol(), ec);
    if (!ec) io->socket.bind(Endpoint(core->config.listen.address(), 0), ec);
    if (!ec) io->socket.non_blocking(true, ec);
    if (ec) {
      core->log->warn("TFTP_SOCKET_ERROR error=\"{}\"", ec.message());
      core->metrics.transfer(TransferResult::Error).fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const std::size_t request =
        std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(buf.data()), n));
    switch (core->admit(from, request, io)) {
      case Server::Core::Admit::Yes:
        spawnTransfer(core, std::move(io), std::move(*req), from);
        break;
      case Server::Core::Admit::Duplicate:
        core->metrics.drop(Drop::DuplicateRequest);
        logDrop(*core, Drop::DuplicateRequest, from);
        break;
      case Server::Core::Admit::Busy:
        // No ERROR: PXE firmware gives up the boot on one, while an unanswered RRQ is
        // retransmitted and gets in once transfers finish (boot-storm finding).
        core->metrics.drop(Drop::Busy);
        logDrop(*core, Drop::Busy, from);
        break;
      case Server::Core::Admit::Stopping:
        co_return;
    }
  }
}

}  // namespace

std::string_view resultName(TransferResult r) {
  switch (r) {
    case TransferResult::Ok: return "ok";
    case TransferResult::ClientAbort: return "client_abort";
    case TransferResult::Timeout: return "timeout";
    case TransferResult::Deadline: return "deadline";
    case TransferResult::NotFound: return "not_found";
    case TransferResult::AccessDenied: return "access_denied";
    case TransferResult::Refused: return "refused";
    case TransferResult::Error: return "error";
  }
  return "error";
}

std::string_view dropName(Drop d) {
  switch (d) {
    case Drop::Malformed: return "malformed";
    case Drop::UnknownTid: return "unknown_tid";
    case Drop::UnexpectedPacket: return "unexpected_packet";
    case Drop::DuplicateRequest: return "duplicate_request";
    case Drop::Busy: return "busy";
    case Drop::DuplicateAck: return "duplicate_ack";
    case Drop::StaleAck: return "stale_ack";
    case Drop::kCount: break;
  }
  return "unknown";
}

Metrics::Metrics(metrics::Registry& r)
    : bytes(r.counter("tftp_bytes_total", "File bytes sent by TFTP (retransmissions not counted)")),
      active(r.gauge("tftp_active_transfers", "TFTP transfers in progress")) {
  for (auto res : kResults)
    transfers[static_cast<std::size_t>(res)] = &r.counter(
        "tftp_transfers_total", "TFTP transfers by outcome",
        "result=\"" + std::string(resultName(res)) + "\"");
  for (std::size_t i = 0; i < drops.size(); ++i)
    drops[i] = &r.counter("tftp_drops_total", "TFTP datagrams dropped, by reason",
                          "reason=\"" + std::string(dropName(static_cast<Drop>(i))) + "\"");
}

Server::Core::Admit Server::Core::admit(const Endpoint& client, std::size_t request,
                                        const std::shared_ptr<TransferIo>& transfer_io) {
  std::lock_guard lock(mu);
  if (stopping.load()) return Admit::Stopping;
  if (auto it = active.find(client); it != active.end()) return Admit::Duplicate;
  if (auto it = finished.find(client); it != finished.end()) {
    if (it->second.request == request && std::chrono::steady_clock::now() < it->second.until) {
      return Admit::Duplicate;
    }
    finished.erase(it);
  }
  if (active.size() >= config.max_transfers) return Admit::Busy;
  active.emplace(client, transfer_io);
  requests[client] = request;
  metrics.active.fetch_add(1, std::memory_order_relaxed);
  return Admit::Yes;
}

void Server::Core::release(const Endpoint& client) {
  std::lock_guard lock(mu);
  if (active.erase(client) > 0) metrics.active.fetch_sub(1, std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  if (auto it = requests.find(client); it != requests.end()) {
    finished[client] = Finished{it->second, now + kLateDuplicateHold};
    requests.erase(it);
  }
  // Bounded: expired entries go once the table outgrows the transfer limit.
  if (finished.size() > 2 * config.max_transfers) {
    std::erase_if(finished, [now](const auto& kv) { return kv.second.until <= now; });
  }
}

Server::Server(asio::io_context& io, Config config, VirtualFiles* vfs, TransferObserver* observer,
               metrics::Registry& registry)
    : core_(std::make_shared<Core>(io, std::move(config), vfs, observer, registry)) {}

Server::~Server() { stop(); }

Status Server::start() {
  auto& cfg = core_->config;
  std::vector<RootedDir> dirs;
  auto root = RootedDir::open(cfg.root);
  if (!root) return makeError("bad_root", "tftp root " + root.error().message);
  dirs.push_back(std::move(*root));
  for (const auto& d : cfg.search_path) {
    auto dir = RootedDir::open(d, cfg.follow_search_symlinks);
    if (!dir) {
      core_->log->warn("TFTP_SEARCH_DIR_MISSING dir={} error=\"{}\"", d, dir.error().message);
      continue;
    }
    dirs.push_back(std::move(*dir));
  }
  core_->cache = std::make_unique<FileCache>(std::move(dirs));

  boost::system::error_code ec;
  core_->listener.open(cfg.listen.protocol(), ec);
  if (!ec) core_->listener.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) core_->listener.bind(cfg.listen, ec);
  if (ec) {
    return makeError("bind_failed", "tftp listen " + cfg.listen.address().to_string() + ":" +
                                        std::to_string(cfg.listen.port()) + ": " + ec.message());
  }
  core_->listener.non_blocking(true, ec);
  // Room for a boot storm's burst of requests (the kernel caps it at net.core.rmem_max).
  core_->listener.set_option(asio::socket_base::receive_buffer_size(kListenReceiveBuffer), ec);
  const auto local = core_->listener.local_endpoint(ec);
  core_->log->info("TFTP_LISTEN address={} port={} root={} search_dirs={} max_blksize={} max_windowsize={}",
                   local.address().to_string(), local.port(), cfg.root, cfg.search_path.size(),
                   cfg.max_blksize, cfg.max_windowsize);
  asio::co_spawn(core_->listen_strand, listen(core_), asio::detached);
  return Status::success();
}

void Server::stop() {
  auto core = core_;
  if (core->stopping.exchange(true)) return;
  asio::post(core->listen_strand, [core] {
    boost::system::error_code ec;
    core->listener.close(ec);
  });
  std::lock_guard lock(core->mu);
  for (auto& [client, weak] : core->active) {
    if (auto io = weak.lock()) {
      asio::post(io->strand, [io] {
        boost::system::error_code ec;
        io->socket.close(ec);
        io->timer.cancel();
      });
    }
  }
}

Endpoint Server::localEndpoint() const {
  boost::system::error_code ec;
  return core_->listener.local_endpoint(ec);
}

std::int64_t Server::activeTransfers() const {
  std::lock_guard lock(core_->mu);
  return static_cast<std::int64_t>(core_->active.size());
}

}  // namespace drover::tftp
