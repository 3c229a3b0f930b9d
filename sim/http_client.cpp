#include "sim/http_client.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <memory>

namespace drover::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using asio::redirect_error;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kChunk = 32 * 1024;
constexpr std::size_t kDiscardChunk = 256 * 1024;
constexpr std::size_t kMaxScript = 1024 * 1024;  // a boot script is a few hundred bytes
constexpr const char* kUserAgent = "iPXE/1.21.1+ (drover-sim)";

Clock::duration budget(Millis timeout, Clock::time_point deadline) {
  return std::min<Clock::duration>(timeout, deadline - Clock::now());
}

Error failure(const boost::system::error_code& ec, Clock::time_point deadline, std::string_view what) {
  if (ec == beast::error::timeout) {
    return makeError(Clock::now() >= deadline ? "deadline" : "timeout", std::string(what) + ": timed out");
  }
  return makeError("io", std::string(what) + ": " + ec.message());
}

}  // namespace

HttpConnection::HttpConnection(asio::io_context& io, std::optional<asio::ip::address_v4> bind)
    : io_(io), bind_(bind) {}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::close() {
  if (stream_) {
    boost::system::error_code ec;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_->socket().close(ec);
    stream_.reset();
  }
  host_.clear();
  buffer_.clear();
}

asio::awaitable<Result<HttpReply>> HttpConnection::get(const HttpUrl& url, bool keep_body, Millis timeout,
                                                       Clock::time_point deadline) {
  if (Clock::now() >= deadline) co_return makeError("deadline", "deadline passed");
  const std::string host = url.host + ":" + std::to_string(url.port);
  boost::system::error_code ec;
  if (!stream_ || host_ != host) {
    close();
    auto addr = asio::ip::make_address_v4(url.host, ec);
    if (ec) co_return makeError("connect", "not an IPv4 address: " + url.host);
    stream_.emplace(io_);
    stream_->socket().open(tcp::v4(), ec);
    if (!ec && bind_) stream_->socket().bind({*bind_, 0}, ec);
    if (ec) {
      close();
      co_return makeError("connect", ec.message());
    }
    stream_->expires_after(budget(timeout, deadline));
    co_await stream_->async_connect(tcp::endpoint(addr, url.port), redirect_error(use_awaitable, ec));
    if (ec) {
      auto e = failure(ec, deadline, "connect");
      close();
      co_return makeError(e.code == "io" ? "connect" : e.code, e.message);
    }
    stream_->socket().set_option(tcp::no_delay(true), ec);
    host_ = host;
    ++connects_;
  }

  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::connection, "keep-alive");
  stream_->expires_after(budget(timeout, deadline));
  co_await http::async_write(*stream_, req, redirect_error(use_awaitable, ec));
  if (ec) {
    auto e = failure(ec, deadline, "write");
    close();
    co_return e;
  }

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  stream_->expires_after(budget(timeout, deadline));
  co_await http::async_read_header(*stream_, buffer_, parser, redirect_error(use_awaitable, ec));
  if (ec) {
    auto e = failure(ec, deadline, "read header");
    close();
    co_return e;
  }
  HttpReply reply;
  reply.status = parser.get().result_int();
  const auto length = parser.content_length();
  const bool keep_alive = parser.keep_alive();
  if (!keep_body && length && !parser.chunked()) {
    // Kernel and initrd: a known length, read straight from the socket in large reads and
    // discarded (like firmware loading into memory), skipping the parser's copy.
    auto st = co_await discardBody(*length, timeout, deadline);
    if (!st) co_return st.error();
    reply.bytes = *length;
  } else {
    std::array<char, kChunk> chunk;
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      stream_->expires_after(budget(timeout, deadline));
      co_await http::async_read(*stream_, buffer_, parser, redirect_error(use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        auto e = failure(ec, deadline, "read body");
        close();
        co_return e;
      }
      const std::size_t got = chunk.size() - parser.get().body().size;
      reply.bytes += got;
      if (keep_body) {
        if (reply.body.size() + got > kMaxScript) {
          close();
          co_return makeError("io", "script larger than 1 MiB");
        }
        reply.body.append(chunk.data(), got);
      }
    }
  }
  if (!keep_alive) close();
  if (reply.status != 200) co_return makeError("status", "HTTP " + std::to_string(reply.status));
  if (length && *length != reply.bytes) co_return makeError("length", "short body");
  co_return reply;
}

asio::awaitable<Status> HttpConnection::discardBody(std::uint64_t length, Millis timeout,
                                                    Clock::time_point deadline) {
  // Body bytes the header read already buffered.
  const auto buffered = std::min<std::uint64_t>(length, buffer_.size());
  buffer_.consume(static_cast<std::size_t>(buffered));
  std::uint64_t left = length - buffered;
  // The rest is dropped in the kernel: recv(MSG_TRUNC) on TCP discards without copying to
  // user space, so one sim thread can take the bytes of a thousand machines. TCP still
  // receives and acknowledges every byte, as for a real client.
  auto& socket = stream_->socket();
  boost::system::error_code ec;
  socket.native_non_blocking(true, ec);
  auto wait = std::make_shared<bool>(false);  // the timer fired for this wait
  asio::steady_timer timer(io_);
  while (left > 0 && !ec) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, kDiscardChunk));
    const ssize_t n = ::recv(socket.native_handle(), nullptr, want, MSG_TRUNC | MSG_DONTWAIT);
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) {
      ec = asio::error::eof;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec = boost::system::error_code(errno, boost::system::system_category());
      break;
    }
    if (Clock::now() >= deadline) {
      ec = beast::error::timeout;
      break;
    }
    *wait = false;
    timer.expires_after(budget(timeout, deadline));
    timer.async_wait([wait, s = &socket](const boost::system::error_code& e) {
      if (e || *wait) return;
      *wait = true;
      boost::system::error_code ignored;
      s->cancel(ignored);
    });
    co_await socket.async_wait(tcp::socket::wait_read, redirect_error(use_awaitable, ec));
    const bool fired = *wait;
    *wait = true;  // a late timer handler does nothing
    timer.cancel();
    if (fired) ec = beast::error::timeout;
  }
  if (ec) {
    auto e = failure(ec, deadline, "read body");
    close();
    co_return e;
  }
  socket.native_non_blocking(false, ec);
  co_return Status{};
}

}  // namespace drover::sim
