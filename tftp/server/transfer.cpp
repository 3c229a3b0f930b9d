// One read transfer: resolve the file, negotiate options, then send the window and wait for
// ACKs until the SendWindow says done, the client gives up, or retries run out.
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <cerrno>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tftp/server/block_source.hpp"
#include "tftp/server/core.hpp"
#include "tftp/server/datagram_batch.hpp"
#include "tftp/server/path.hpp"
#include "tftp/server/send_window.hpp"
#include "tftp/wire/options.hpp"

namespace drover::tftp {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Largest datagram a client sends us during a transfer (ACK 4, ERROR ~260 bytes).
constexpr std::size_t kMaxReplyDatagram = 1024;
// Most blocks read and sent in one go.
constexpr std::size_t kMaxBatch = DatagramBatch::kMaxDatagrams;

class Transfer {
 public:
  Transfer(std::shared_ptr<Server::Core> core, std::shared_ptr<TransferIo> io, wire::Request req,
           Endpoint client)
      : core_(std::move(core)),
        io_(std::move(io)),
        req_(std::move(req)),
        client_(client),
        started_(Clock::now()),
        deadline_(started_ + core_->config.transfer_deadline) {
    record_.client = client_;
    record_.path = log::sanitize(req_.filename, wire::kMaxFilename);
  }

  asio::awaitable<void> run();

 private:
  enum class Wait { Progress, Done, Timeout, Aborted, Failed };

  asio::awaitable<void> refuse(wire::ErrorCode code, std::string_view message, TransferResult r);
  asio::awaitable<bool> send(asio::const_buffer packet, const Endpoint& to);
  asio::awaitable<bool> sendWindow(SendWindow& window, BlockSource& source);
  asio::awaitable<Wait> awaitAck(SendWindow& window, Clock::time_point until);
  asio::awaitable<std::size_t> receive(Endpoint& from, Clock::time_point until,
                                       boost::system::error_code& ec);
  void finish(TransferResult r, std::string detail = {});

  std::shared_ptr<Server::Core> core_;
  std::shared_ptr<TransferIo> io_;
  wire::Request req_;
  Endpoint client_;
  Clock::time_point started_;
  Clock::time_point deadline_;
  TransferRecord record_;
  wire::Negotiated options_;
  // Send batch: up to batch_ blocks read in one go and sent with as few system calls as the
  // kernel allows. Memory per transfer: min(windowsize, kMaxBatch) x blksize.
  std::size_t batch_ = 1;
  std::vector<std::byte> data_;
  std::array<std::array<std::byte, 4>, kMaxBatch> headers_{};
  std::array<std::size_t, kMaxBatch> sizes_{};
  DatagramBatch datagrams_;
  std::array<std::byte, kMaxReplyDatagram> in_{};
  wire::Bytes control_;  // OACK / ERROR being sent
  std::uint64_t highest_sent_ = 0;
  bool finished_ = false;
};

asio::awaitable<void> Transfer::run() {
  if (req_.opcode == wire::Opcode::Wrq)
    co_return co_await refuse(wire::ErrorCode::AccessViolation, "read-only server",
                              TransferResult::Refused);
  if (req_.mode == wire::Mode::Mail)
    co_return co_await refuse(wire::ErrorCode::IllegalOperation, "mail mode not supported",
                              TransferResult::Refused);
  auto path = normalizePath(req_.filename);
  if (!path)
    co_return co_await refuse(wire::ErrorCode::AccessViolation, "invalid file name",
                              TransferResult::AccessDenied);
  record_.path = *path;

  std::optional<BlockSource::Backing> backing;
  if (core_->vfs != nullptr) {
    if (auto content = core_->vfs->lookup(*path, client_)) {
      backing = std::make_shared<const std::string>(std::move(*content));
      record_.virtual_file = true;
    } else if (auto real = core_->vfs->file(*path, client_)) {
      auto dir = RootedDir::open(real->parent_path().string(), /*trusted=*/true);
      auto opened =
          dir ? dir->openFile(real->filename().string()) : Result<OpenedFile>(dir.error());
      if (!opened)
        co_return co_await refuse(wire::ErrorCode::FileNotFound, "file not found",
                                  TransferResult::NotFound);
      backing =
          std::make_shared<const SharedFile>(std::move(opened->fd), opened->size, dir->path());
    }
  }
  if (!backing) {
    auto file = core_->cache->open(*path);
    if (!file) {
      const auto& code = file.error().code;
      if (code == "not_found")
        co_return co_await refuse(wire::ErrorCode::FileNotFound, "file not found",
                                  TransferResult::NotFound);
      if (code == "io_error")
        co_return co_await refuse(wire::ErrorCode::NotDefined, "read error", TransferResult::Error);
      co_return co_await refuse(wire::ErrorCode::AccessViolation, "access denied",
                                TransferResult::AccessDenied);
    }
    backing = std::move(*file);
  }

  const auto& cfg = core_->config;
  options_ =
      wire::negotiate(req_.options, req_.mode, BlockSource(*backing, req_.mode, 1).wireSize(),
                      wire::OptionLimits{cfg.max_blksize, cfg.max_windowsize});
  record_.blksize = options_.blksize;
  record_.windowsize = options_.windowsize;
  BlockSource source(std::move(*backing), req_.mode, options_.blksize);
  SendWindow window({options_.windowsize, !options_.oack.empty(), cfg.max_retries});
  batch_ = std::min<std::size_t>(options_.windowsize, kMaxBatch);
  data_.resize(batch_ * options_.blksize);
  const auto rto = options_.timeout
                       ? std::chrono::duration_cast<std::chrono::milliseconds>(*options_.timeout)
                       : cfg.retransmit_timeout;
  core_->log->debug(
      "TFTP_TRANSFER_START client={}:{} file={} mode={} blksize={} windowsize={} virtual={}",
      client_.address().to_string(), client_.port(), record_.path, wire::modeName(req_.mode),
      options_.blksize, options_.windowsize, record_.virtual_file);

  for (;;) {
    if (!co_await sendWindow(window, source))
      co_return finish(TransferResult::Error, "send failed");
    const auto now = Clock::now();
    if (now >= deadline_) {
      co_await refuse(wire::ErrorCode::NotDefined, "transfer deadline exceeded",
                      TransferResult::Deadline);
      co_return;
    }
    const auto until = std::min(
        deadline_, now + retransmitTimeout(rto, window.retries(), cfg.max_retransmit_timeout));
    switch (co_await awaitAck(window, until)) {
      case Wait::Progress:
        source.release(window.base());
        break;
      case Wait::Done:
        co_return finish(TransferResult::Ok);
      case Wait::Timeout:
        if (Clock::now() >= deadline_) {
          co_await refuse(wire::ErrorCode::NotDefined, "transfer deadline exceeded",
                          TransferResult::Deadline);
          co_return;
        }
        if (window.onTimeout() == SendWindow::Timeout::GiveUp) {
          co_await refuse(wire::ErrorCode::NotDefined, "timed out", TransferResult::Timeout);
          co_return;
        }
        break;
      case Wait::Aborted:
        co_return finish(TransferResult::ClientAbort);
      case Wait::Failed:
        co_return finish(TransferResult::Error,
                         core_->stopping ? "server stopping" : "receive failed");
    }
  }
}

asio::awaitable<bool> Transfer::sendWindow(SendWindow& window, BlockSource& source) {
  const std::size_t blksize = options_.blksize;
  for (;;) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(window.sendable(), batch_));
    if (k == 0) co_return true;
    if (window.next() == 0) {
      (void)window.nextToSend();
      wire::encodeOack(options_.oack, control_);
      if (!co_await send(asio::buffer(control_), client_)) co_return false;
      continue;
    }
    // Read up to k blocks at once and send them together.
    const std::uint64_t first = window.next();
    auto total = source.readRun(first, k, data_);
    if (!total) co_return false;
    std::size_t m = 0;
    while (m < k) {
      const std::size_t at = m * blksize;
      const std::size_t size = *total > at ? std::min(blksize, *total - at) : 0;
      sizes_[m++] = size;
      if (size < blksize) {
        window.markLast(first + m - 1);
        break;
      }
    }
    for (std::size_t i = 0; i < m; ++i) {
      wire::writeDataHeader(SendWindow::wireBlock(first + i), headers_[i]);
      datagrams_.set(i, headers_[i].data(), headers_[i].size(), data_.data() + i * blksize,
                     sizes_[i]);
    }
    std::size_t sent = 0;
    while (sent < m) {
      const auto r = datagrams_.send(io_->socket.native_handle(), client_.data(),
                                     static_cast<socklen_t>(client_.size()), sent, m,
                                     headers_[0].size() + blksize);
      if (r > 0) {
        sent += r;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        boost::system::error_code ec;  // socket buffer full: wait until it drains
        co_await io_->socket.async_wait(asio::socket_base::wait_write,
                                        asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return false;
      } else if (errno != EINTR && errno != ECONNREFUSED) {
        co_return false;
      }
    }
    for (std::size_t i = 0; i < m; ++i) {
      const auto index = window.nextToSend();
      // Count file bytes once, the first time a block goes out.
      if (index && *index > highest_sent_) {
        highest_sent_ = *index;
        record_.bytes += sizes_[i];
        core_->metrics.bytes.fetch_add(sizes_[i], std::memory_order_relaxed);
      }
    }
  }
}

asio::awaitable<Transfer::Wait> Transfer::awaitAck(SendWindow& window, Clock::time_point until) {
  for (;;) {
    Endpoint from;
    boost::system::error_code ec;
    const std::size_t n = co_await receive(from, until, ec);
    if (ec == asio::error::timed_out) co_return Wait::Timeout;
    if (ec) {
      if (ec == asio::error::connection_refused) continue;  // ICMP for an earlier send
      co_return Wait::Failed;
    }
    if (from != client_) {
      // RFC 1350: a packet from a foreign TID gets error 5; the transfer goes on.
      core_->metrics.drop(Drop::UnknownTid);
      wire::Bytes err;
      wire::encodeError(wire::ErrorCode::UnknownTid, "unknown transfer ID", err);
      boost::system::error_code ignored;
      io_->socket.send_to(asio::buffer(err), from, 0, ignored);
      continue;
    }
    auto packet = wire::parsePacket(std::span<const std::byte>(in_).first(n));
    if (!packet) {
      core_->metrics.drop(Drop::Malformed);
      continue;
    }
    if (auto* err = std::get_if<wire::ErrorPacket>(&*packet)) {
      record_.detail = log::sanitize(err->message);
      co_return Wait::Aborted;
    }
    auto* ack = std::get_if<wire::Ack>(&*packet);
    if (ack == nullptr) {
      core_->metrics.drop(Drop::UnexpectedPacket);
      continue;
    }
    switch (window.onAck(ack->block)) {
      case SendWindow::Ack::Progress:
        co_return Wait::Progress;
      case SendWindow::Ack::Done:
        co_return Wait::Done;
      case SendWindow::Ack::Duplicate:
        core_->metrics.drop(Drop::DuplicateAck);
        break;
      case SendWindow::Ack::Unexpected:
        core_->metrics.drop(Drop::StaleAck);
        break;
    }
  }
}

asio::awaitable<std::size_t> Transfer::receive(Endpoint& from, Clock::time_point until,
                                               boost::system::error_code& ec) {
  io_->deadline = until;
  io_->timed_out = false;
  io_->waiting = true;
  if (!io_->timer_armed || io_->timer.expiry() > until) armTransferTimer(io_);
  const std::size_t n = co_await io_->socket.async_receive_from(
      asio::buffer(in_), from, asio::redirect_error(asio::use_awaitable, ec));
  io_->waiting = false;
  if (ec == asio::error::operation_aborted && io_->timed_out) ec = asio::error::timed_out;
  co_return n;
}

asio::awaitable<bool> Transfer::send(asio::const_buffer packet, const Endpoint& to) {
  boost::system::error_code ec;
  // The socket is non-blocking: a UDP send almost always completes at once; only a full
  // socket buffer makes us wait.
  io_->socket.send_to(packet, to, 0, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    co_await io_->socket.async_send_to(packet, to, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec == asio::error::connection_refused) co_return true;  // reported for an earlier datagram
  co_return !ec;
}

asio::awaitable<void> Transfer::refuse(wire::ErrorCode code, std::string_view message,
                                       TransferResult r) {
  wire::encodeError(code, message, control_);
  co_await send(asio::buffer(control_), client_);
  finish(r, std::string(message));
}

void Transfer::finish(TransferResult r, std::string detail) {
  if (finished_) return;
  finished_ = true;
  record_.result = r;
  if (!detail.empty()) record_.detail = std::move(detail);
  record_.elapsed = Clock::now() - started_;
  core_->metrics.transfer(r).fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ec;
  io_->timer.cancel();
  io_->socket.close(ec);
  std::uint64_t suppressed = 0;
  if (core_->log_limit.allow(suppressed)) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(record_.elapsed).count();
    core_->log->info(
        "TFTP_TRANSFER_DONE client={}:{} file={} result={} bytes={} ms={} blksize={} windowsize={} "
        "virtual={} detail=\"{}\" suppressed={}",
        client_.address().to_string(), client_.port(), log::sanitize(record_.path, 128),
        resultName(r), record_.bytes, ms, record_.blksize, record_.windowsize, record_.virtual_file,
        log::sanitize(record_.detail), suppressed);
  }
  if (core_->observer != nullptr) core_->observer->onTransferDone(record_);
  core_->release(client_);  // last: an idle gauge means every observer call has returned
}

}  // namespace

void armTransferTimer(const std::shared_ptr<TransferIo>& io) {
  const auto gen = ++io->arm_gen;
  io->timer_armed = true;
  io->timer.expires_at(io->deadline);  // cancels an earlier arming: its completion is ignored
  io->timer.async_wait([io, gen](const boost::system::error_code& e) {
    if (gen != io->arm_gen) return;
    io->timer_armed = false;
    if (e) return;  // cancelled: the transfer is over
    if (Clock::now() < io->deadline) return armTransferTimer(io);
    if (io->waiting) {
      io->timed_out = true;
      boost::system::error_code ignored;
      io->socket.cancel(ignored);
    }
  });
}

void spawnTransfer(std::shared_ptr<Server::Core> core, std::shared_ptr<TransferIo> io,
                   wire::Request request, Endpoint client) {
  auto transfer = std::make_shared<Transfer>(core, io, std::move(request), client);
  asio::co_spawn(
      io->strand, [transfer]() -> asio::awaitable<void> { co_await transfer->run(); },
      [core, client](std::exception_ptr e) {
        if (!e) return;
        // Only resource exhaustion can get here; the transfer's slot must still be freed.
        core->release(client);
        core->log->error("TFTP_TRANSFER_EXCEPTION client={}:{}", client.address().to_string(),
                         client.port());
      });
}

}  // namespace drover::tftp
