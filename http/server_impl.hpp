// Internals of Server shared by server.cpp (accepting, stopping) and session.cpp (one
// connection's request loop). Not part of the public API.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "common/log.hpp"
#include "http/server.hpp"

namespace drover::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One live connection, as the server sees it for stop().
struct Connection {
  asio::any_io_executor executor;  // the session's strand (the io_context's, single_thread)
  tcp::socket* socket = nullptr;   // lowest layer; valid while the session runs
  std::atomic<bool> idle{false};   // waiting for the next request
};

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(asio::io_context& io, Router router, ServerOptions options, metrics::Registry& registry);

  drover::Status listen(const tcp::endpoint& endpoint);
  void start();
  void stop(std::chrono::milliseconds grace);
  std::size_t connectionCount() const;
  tcp::endpoint localEndpoint() const { return local_; }

  // Used by sessions.
  const Router& router() const { return router_; }
  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  void countRequest(unsigned status);
  void countBytes(std::uint64_t n) { bytes_sent_.fetch_add(n, std::memory_order_relaxed); }
  // The bulk io_context for the next file body (ServerOptions::bulk, in turn); null if none.
  asio::io_context* nextBulk() {
    if (options_.bulk.empty()) return nullptr;
    return options_.bulk[next_bulk_.fetch_add(1, std::memory_order_relaxed) % options_.bulk.size()];
  }
  void drop(std::string_view reason, const tcp::endpoint& peer);

 private:
  asio::awaitable<void> acceptLoop();
  void launch(tcp::socket socket);
  template <class Stream>
  asio::awaitable<void> runSession(Stream stream, tcp::endpoint peer, std::shared_ptr<Connection> conn);
  void forget(std::uint64_t id);
  void closeConnections(bool idle_only);

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;  // acceptor and grace timer
  tcp::acceptor acceptor_;
  asio::steady_timer grace_timer_;
  tcp::endpoint local_;
  Router router_;
  ServerOptions options_;
  metrics::Registry& registry_;
  std::shared_ptr<spdlog::logger> log_;
  log::RateLimit drop_log_limit_;

  std::atomic<std::size_t> next_bulk_{0};
  metrics::Counter& bytes_sent_;
  metrics::Gauge& active_;
  std::array<std::atomic<metrics::Counter*>, 600> by_status_{};

  mutable std::mutex mu_;
  std::map<std::uint64_t, std::weak_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 0;
  std::atomic<bool> stopping_{false};
};

// Sends one response on `stream`; returns false when the connection must be dropped.
template <class Stream>
asio::awaitable<bool> writeResponse(Server::Impl& server, Stream& stream, const Request& req,
                                    Response res, bool keep_alive);

}  // namespace drover::http
