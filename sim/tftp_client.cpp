#include "sim/tftp_client.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>

#include "tftp/wire/options.hpp"
#include "tftp/wire/packet.hpp"

namespace drover::sim {

namespace asio = boost::asio;
namespace tw = tftp::wire;
using asio::ip::udp;
using asio::redirect_error;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

namespace {

// One transfer's socket: send, and receive with a timeout bounded by the deadline. The
// socket lives in a shared block so a timer handler that is already queued when the
// receive completes can still run safely (it sees a newer generation and does nothing).
class Channel {
 public:
  Channel(asio::io_context& io, const TftpRequest& req)
      : io_(io), shared_(std::make_shared<Shared>(io)), req_(req) {}
  ~Channel() {
    boost::system::error_code ec;
    shared_->socket.close(ec);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  Status open() {
    boost::system::error_code ec;
    shared_->socket.open(udp::v4(), ec);
    if (!ec) shared_->socket.bind({req_.bind.value_or(asio::ip::address_v4::any()), 0}, ec);
    if (ec) return makeError("socket", ec.message());
    return {};
  }

  asio::awaitable<void> send(const tw::Bytes& bytes, const udp::endpoint& to) {
    boost::system::error_code ec;
    co_await shared_->socket.async_send_to(asio::buffer(bytes), to, redirect_error(use_awaitable, ec));
  }

  enum class Wait { Packet, Timeout, Deadline, Error };
  // Receives one datagram into buf_; sets size_ and from_.
  asio::awaitable<Wait> receive(Millis timeout) {
    const auto now = Clock::now();
    if (now >= req_.deadline) co_return Wait::Deadline;
    const auto gen = ++shared_->gen;
    shared_->fired = false;
    asio::steady_timer timer(io_);
    timer.expires_at(std::min(now + timeout, req_.deadline));
    timer.async_wait([s = shared_, gen](const boost::system::error_code& ec) {
      if (!ec && s->gen == gen) {
        s->fired = true;
        boost::system::error_code ignored;
        s->socket.cancel(ignored);
      }
    });
    boost::system::error_code ec;
    size_ = co_await shared_->socket.async_receive_from(asio::buffer(buf_), from_,
                                                        redirect_error(use_awaitable, ec));
    ++shared_->gen;
    timer.cancel();
    if (ec == asio::error::operation_aborted && shared_->fired) {
      co_return Clock::now() >= req_.deadline ? Wait::Deadline : Wait::Timeout;
    }
    co_return ec ? Wait::Error : Wait::Packet;
  }

  tw::ByteView datagram() const { return tw::ByteView(buf_.data(), size_); }
  const udp::endpoint& from() const { return from_; }

 private:
  struct Shared {
    explicit Shared(asio::io_context& io) : socket(io) {}
    udp::socket socket;
    std::uint64_t gen = 0;
    bool fired = false;
  };
  asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  const TftpRequest& req_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(std::size_t{req_.blksize} + 516);
  std::size_t size_ = 0;
  udp::endpoint from_;
};

Millis backoff(const TftpRequest& req, int attempt) {
  return req.timeout * (1 << std::min(attempt, 5));
}

tw::Bytes rrq(const TftpRequest& req, bool probe) {
  tw::Request r;
  r.filename = req.file;
  r.options.push_back({"blksize", std::to_string(req.blksize)});
  if (probe) r.options.push_back({"tsize", "0"});
  if (!probe && req.windowsize > 1) r.options.push_back({"windowsize", std::to_string(req.windowsize)});
  tw::Bytes out;
  tw::encodeRequest(r, out);
  return out;
}

std::optional<std::uint64_t> optionValue(const tw::Oack& o, std::string_view name) {
  for (const auto& opt : o.options) {
    if (opt.name == name) return tw::parseDecimal(opt.value);
  }
  return std::nullopt;
}

Error waitError(Channel::Wait w, std::string_view what) {
  if (w == Channel::Wait::Deadline) return makeError("deadline", std::string(what) + ": deadline passed");
  if (w == Channel::Wait::Timeout) return makeError("timeout", std::string(what) + ": no answer");
  return makeError("socket", std::string(what) + ": receive failed");
}

// RRQ with tsize; abort after the OACK (or the first DATA of a server without options).
asio::awaitable<Result<std::optional<std::uint64_t>>> probe(asio::io_context& io, const TftpRequest& req,
                                                            std::uint32_t* retransmits) {
  Channel ch(io, req);
  if (auto st = ch.open(); !st) co_return st.error();
  const auto request = rrq(req, true);
  for (int attempt = 0;; ++attempt) {
    co_await ch.send(request, req.server);
    auto w = co_await ch.receive(backoff(req, attempt));
    if (w == Channel::Wait::Timeout && attempt < req.retries) {
      ++*retransmits;
      continue;
    }
    if (w != Channel::Wait::Packet) co_return waitError(w, "tsize probe");
    auto p = tw::parsePacket(ch.datagram());
    if (!p) continue;
    if (auto* e = std::get_if<tw::ErrorPacket>(&*p)) co_return makeError("error", "server: " + e->message);
    std::optional<std::uint64_t> tsize;
    if (auto* o = std::get_if<tw::Oack>(&*p)) tsize = optionValue(*o, "tsize");
    tw::Bytes abort;
    tw::encodeError(tw::ErrorCode::NotDefined, "TFTP Aborted", abort);
    co_await ch.send(abort, ch.from());
    co_return tsize;
  }
}

}  // namespace

asio::awaitable<Result<TftpResult>> tftpGet(asio::io_context& io, TftpRequest req, std::uint32_t* retransmits) {
  TftpResult result;
  if (req.probe) {
    auto t = co_await probe(io, req, retransmits);
    if (!t) co_return t.error();
    result.tsize = *t;
  }
  Channel ch(io, req);
  if (auto st = ch.open(); !st) co_return st.error();
  tw::Bytes last = rrq(req, false);  // what a timeout retransmits
  std::optional<udp::endpoint> peer;  // the server's TID, once it answered
  std::uint16_t acked = 0;            // last block received in order
  std::uint16_t in_window = 0;
  bool gap_acked = false;
  int attempt = 0;
  co_await ch.send(last, req.server);
  for (;;) {
    auto w = co_await ch.receive(backoff(req, attempt));
    if (w == Channel::Wait::Timeout && attempt < req.retries) {
      ++attempt;
      ++*retransmits;
      co_await ch.send(last, peer.value_or(req.server));
      continue;
    }
    if (w != Channel::Wait::Packet) co_return waitError(w, "download");
    if (peer && ch.from() != *peer) {
      tw::Bytes err;
      tw::encodeError(tw::ErrorCode::UnknownTid, "Unknown transfer ID", err);
      co_await ch.send(err, ch.from());
      continue;
    }
    auto p = tw::parsePacket(ch.datagram());
    if (!p) continue;
    if (auto* e = std::get_if<tw::ErrorPacket>(&*p)) co_return makeError("error", "server: " + e->message);
    if (auto* o = std::get_if<tw::Oack>(&*p)) {
      if (peer) continue;  // a duplicate OACK: our ACK 0 is on its way or will be resent
      peer = ch.from();
      result.blksize = optionValue(*o, "blksize").value_or(tw::kDefaultBlksize);
      result.windowsize = static_cast<std::uint16_t>(std::max<std::uint64_t>(1, optionValue(*o, "windowsize").value_or(1)));
      tw::encodeAck(0, last);
      attempt = 0;
      co_await ch.send(last, *peer);
      continue;
    }
    auto* d = std::get_if<tw::Data>(&*p);
    if (d == nullptr) continue;
    if (!peer) peer = ch.from();  // no options: RFC 1350, blksize 512, window 1
    if (d->block != static_cast<std::uint16_t>(acked + 1)) {
      // Out of order or a duplicate: ACK the last block in order once (RFC 7440).
      if (!gap_acked) {
        tw::encodeAck(acked, last);
        co_await ch.send(last, *peer);
        gap_acked = true;
        in_window = 0;
      }
      continue;
    }
    gap_acked = false;
    attempt = 0;
    acked = d->block;
    result.bytes += d->payload.size();
    const bool final_block = d->payload.size() < result.blksize;
    if (final_block || ++in_window >= result.windowsize) {
      in_window = 0;
      tw::encodeAck(acked, last);
      co_await ch.send(last, *peer);
    }
    if (final_block) break;
  }
  if (result.tsize && *result.tsize != result.bytes) {
    co_return makeError("size", "received " + std::to_string(result.bytes) + " bytes, tsize said " +
                                    std::to_string(*result.tsize));
  }
  result.retransmits = *retransmits;
  co_return result;
}

}  // namespace drover::sim
