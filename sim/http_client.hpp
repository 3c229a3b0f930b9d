// iPXE's side of HTTP: one keep-alive connection per machine (reopened when the server
// closes it or the host changes), GET only, bodies counted and, for scripts, kept.
// Boost.Beast client; every read and write bounded by a per-request timeout and the
// machine's deadline.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "sim/config.hpp"
#include "sim/ipxe_script.hpp"

namespace drover::sim {

struct HttpReply {
  unsigned status = 0;
  std::uint64_t bytes = 0;  // body bytes received
  std::string body;         // kept only when asked for
};

class HttpConnection {
 public:
  HttpConnection(boost::asio::io_context& io, std::optional<boost::asio::ip::address_v4> bind);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // One GET. Error codes: "connect", "io" (reset, early close, malformed reply),
  // "timeout" (no progress within `timeout`), "deadline", "status" (not 200), "length"
  // (body shorter than Content-Length). A failure closes the connection.
  boost::asio::awaitable<Result<HttpReply>> get(const HttpUrl& url, bool keep_body, Millis timeout,
                                                std::chrono::steady_clock::time_point deadline);

  std::uint32_t connects() const { return connects_; }

 private:
  void close();
  boost::asio::awaitable<Status> discardBody(std::uint64_t length, Millis timeout,
                                             std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context& io_;
  std::optional<boost::asio::ip::address_v4> bind_;
  std::optional<boost::beast::tcp_stream> stream_;
  std::string host_;  // host:port the stream is connected to
  boost::beast::flat_buffer buffer_;
  std::uint32_t connects_ = 0;
};

}  // namespace drover::sim
