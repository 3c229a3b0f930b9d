#include "http/server.hpp"
#include <utility>  // before Asio (GCC 12)

#include <csignal>
#include <mutex>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/server_impl.hpp"

namespace drover::http {
namespace {

// sendfile(2) has no MSG_NOSIGNAL: writing a file body to a peer that went away raises
// SIGPIPE, whose default action ends the process. The server wants EPIPE instead.
void ignoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

Server::Impl::Impl(asio::io_context& io, Router router, ServerOptions options,
                   metrics::Registry& registry)
    : io_(io),
      strand_(asio::make_strand(io)),
      acceptor_(strand_),
      grace_timer_(strand_),
      router_(std::move(router)),
      options_(std::move(options)),
      registry_(registry),
      log_(log::get("http")),
      bytes_sent_(registry.counter("http_bytes_sent_total",
                                   "Bytes sent by the HTTP server (headers and bodies)",
                                   fmt::format("listener=\"{}\"", options_.name))),
      active_(registry.gauge("http_connections_active", "Open HTTP connections",
                             fmt::format("listener=\"{}\"", options_.name))) {
  ignoreSigpipe();
}

drover::Status Server::Impl::listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) local_ = acceptor_.local_endpoint(ec);
  if (ec) {
    return makeError("listen_failed", fmt::format("{}:{}: {}", endpoint.address().to_string(),
                                                  endpoint.port(), ec.message()));
  }
  log_->info("HTTP_LISTEN listener={} addr={}:{} tls={}", options_.name,
             local_.address().to_string(), local_.port(), options_.tls != nullptr);
  return {};
}

void Server::Impl::start() {
  asio::co_spawn(
      strand_, [self = shared_from_this()] { return self->acceptLoop(); }, asio::detached);
}

asio::awaitable<void> Server::Impl::acceptLoop() {
  while (!stopping_) {
    tcp::socket socket = options_.single_thread ? tcp::socket(io_.get_executor())
                                                : tcp::socket(asio::make_strand(io_));
    boost::system::error_code ec;
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      log_->warn("HTTP_ACCEPT_ERROR listener={} error={}", options_.name, ec.message());
      continue;  // EMFILE and friends: keep serving the connections we have
    }
    if (stopping_) break;
    // Headers and a sendfile(2) body leave as separate writes: with Nagle on, the body's
    // small last segment would wait for the client's delayed ACK (40 ms per response).
    boost::system::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    if (connectionCount() >= options_.max_connections) {
      boost::system::error_code ignored;
      drop("too_many_connections", socket.remote_endpoint(ignored));
      socket.close(ignored);
      continue;
    }
    launch(std::move(socket));
  }
}

void Server::Impl::stop(std::chrono::milliseconds grace) {
  asio::post(strand_, [self = shared_from_this(), grace] {
    if (self->stopping_.exchange(true)) return;
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->log_->info("HTTP_STOP listener={} connections={} grace_ms={}", self->options_.name,
                     self->connectionCount(), grace.count());
    self->closeConnections(true);
    if (self->connectionCount() == 0) return;
    self->grace_timer_.expires_after(grace);
    self->grace_timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->closeConnections(false);
    });
  });
}

void Server::Impl::closeConnections(bool idle_only) {
  std::lock_guard lock(mu_);
  for (auto& [id, weak] : connections_) {
    auto conn = weak.lock();
    if (!conn) continue;
    // Runs on the session's strand, so it cannot race the session's own use of the socket;
    // the weak pointer fails once the session is gone.
    asio::post(conn->executor, [weak = std::weak_ptr<Connection>(conn), idle_only] {
      auto c = weak.lock();
      if (!c || c->socket == nullptr || (idle_only && !c->idle)) return;
      boost::system::error_code ignored;
      c->socket->cancel(ignored);
      // shutdown() first: a file body being sent on the bulk threads holds its own
      // descriptor of this socket, and close() alone would not end that send.
      c->socket->shutdown(tcp::socket::shutdown_both, ignored);
      c->socket->close(ignored);
    });
  }
}

void Server::Impl::forget(std::uint64_t id) {
  std::size_t left = 0;
  {
    std::lock_guard lock(mu_);
    connections_.erase(id);
    left = connections_.size();
  }
  active_.fetch_sub(1, std::memory_order_relaxed);
  if (left == 0 && stopping_) {
    asio::post(strand_, [self = shared_from_this()] { self->grace_timer_.cancel(); });
  }
}

std::size_t Server::Impl::connectionCount() const {
  std::lock_guard lock(mu_);
  return connections_.size();
}

void Server::Impl::countRequest(unsigned status) {
  if (status >= by_status_.size()) status = 0;
  auto* c = by_status_[status].load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &registry_.counter("http_requests_total", "HTTP responses sent, by status code",
                           fmt::format("listener=\"{}\",code=\"{}\"", options_.name, status));
    by_status_[status].store(c, std::memory_order_release);
  }
  c->fetch_add(1, std::memory_order_relaxed);
}

void Server::Impl::drop(std::string_view reason, const tcp::endpoint& peer) {
  registry_
      .counter("http_drops_total", "HTTP connections dropped, by reason",
               fmt::format("listener=\"{}\",reason=\"{}\"", options_.name, reason))
      .fetch_add(1, std::memory_order_relaxed);
  std::uint64_t suppressed = 0;
  if (drop_log_limit_.allow(suppressed)) {
    log_->debug("HTTP_DROP listener={} reason={} peer={}:{} suppressed={}", options_.name, reason,
                peer.address().to_string(), peer.port(), suppressed);
  }
}

Server::Server(asio::io_context& io, Router router, ServerOptions options,
               metrics::Registry& registry)
    : impl_(std::make_shared<Impl>(io, std::move(router), std::move(options), registry)) {}

Server::~Server() {
  // Sessions and the accept loop hold the Impl alive; make sure they wind down.
  impl_->stop(std::chrono::milliseconds(0));
}

drover::Status Server::listen(const tcp::endpoint& endpoint) {
  return impl_->listen(endpoint);
}
tcp::endpoint Server::localEndpoint() const {
  return impl_->localEndpoint();
}
void Server::start() {
  impl_->start();
}
void Server::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}
std::size_t Server::connectionCount() const {
  return impl_->connectionCount();
}

}  // namespace drover::http
