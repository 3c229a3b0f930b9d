// HTTP/1.1 server on Boost.Beast with C++20 coroutines: keep-alive, HEAD, conditional and
// Range requests for file bodies (see file_plan.hpp), header and body limits, a timeout on
// every read and write, graceful stop. With ServerOptions::tls set, every connection is TLS
// (boost::asio::ssl::stream) and goes through the same router.
//
// File bodies go out with sendfile(2) on plain connections (zero copy) and through a
// 64 KiB buffer on TLS connections (no kernel TLS here).
//
// Metrics (labels listener="<name>"): http_requests_total{code}, http_bytes_sent_total,
// http_drops_total{reason} (timeout, header_limit, body_limit, bad_request, write_error,
// tls_handshake, too_many_connections, handler_exception), http_connections_active.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <utility>  // before Asio (GCC 12: std::exchange in awaitable.hpp)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "http/router.hpp"

namespace boost::asio::ssl {
class context;
}

namespace drover::http {

inline constexpr std::size_t kHeaderLimit = 8 * 1024;  // request line + headers, bytes

struct ServerOptions {
  std::string name = "http";                // listener label in metrics and logs
  std::size_t header_limit = kHeaderLimit;  // over it: 431 and close
  std::size_t body_limit = 1024 * 1024;     // over it: 413 and close
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};  // per request read
  std::chrono::milliseconds write_timeout{
      std::chrono::seconds(60)};  // per write / writability wait
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  std::size_t max_requests_per_connection = 10000;
  std::size_t max_connections = 1024;
  std::shared_ptr<boost::asio::ssl::context> tls;  // set: the listener speaks TLS only
  // Set: file bodies over plain TCP are sent from these io_contexts, one picked per body in
  // turn, so requests (accepting, reading, small responses) never wait in line behind a
  // thousand kernel and initrd sends. Each must be run by exactly one thread (a send's
  // socket wait and its timer share it, with no strand; and a context per thread sent a
  // 1,000-machine storm's 40 GiB faster than one context on two threads), and all must
  // run until the server has stopped.
  std::vector<boost::asio::io_context*> bulk;
  // The io_context is run by one thread only: a connection's handlers are serialized
  // without a strand of their own (one less dispatch and lock per step of a request).
  // With more threads this must stay false.
  bool single_thread = false;
};

class Server {
 public:
  Server(boost::asio::io_context& io, Router router, ServerOptions options = {},
         metrics::Registry& registry = metrics::Registry::global());
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (port 0 picks a free port; see localEndpoint()).
  drover::Status listen(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint localEndpoint() const;

  // Starts accepting (on the io_context's threads).
  void start();

  // Stops accepting at once, closes idle keep-alive connections, lets requests in flight
  // finish (their responses carry "Connection: close"), and closes whatever is left after
  // `grace`. Safe from any thread. io_context::run() returns when nothing else is pending.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  std::size_t connectionCount() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace drover::http
