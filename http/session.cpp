// One connection's request loop, for plain TCP and for TLS.
#include <utility>  // before Asio (GCC 12)

#include <array>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "http/server_impl.hpp"
#include "http/url.hpp"

namespace drover::http {
namespace {

namespace beast = boost::beast;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using boost::system::error_code;

bool isQuietClose(const error_code& ec) {
  return ec == beast_http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::bad_descriptor || ec == asio::ssl::error::stream_truncated;
}

// Answers a request that could not be read (431, 413, 400) and closes.
template <class Stream>
asio::awaitable<void> refuse(Server::Impl& server, Stream& stream, Status status, std::string_view code,
                             std::string_view message) {
  Request dummy;
  dummy.message.method(Verb::get);
  co_await writeResponse(server, stream, dummy, Response::error(status, code, message), false);
}

// Half-closes, then (after a refusal, when the client may still be sending) reads and
// discards for a moment so the close does not turn into a reset that loses our reply.
asio::awaitable<void> closeGracefully(beast::tcp_stream& stream, bool linger) {
  error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (linger && !ec) {
    constexpr std::size_t kLingerBytes = 1024 * 1024;
    std::array<char, 16 * 1024> sink{};
    stream.expires_after(std::chrono::seconds(1));
    for (std::size_t drained = 0; drained < kLingerBytes && !ec;) {
      drained += co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  stream.close();
}

}  // namespace

template <class Stream>
asio::awaitable<void> Server::Impl::runSession(Stream stream, tcp::endpoint peer, std::shared_ptr<Connection> conn) {
  auto& lowest = beast::get_lowest_layer(stream);
  conn->socket = &lowest.socket();
  constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  error_code ec;
  if constexpr (kTls) {
    lowest.expires_after(options_.handshake_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      drop(ec == beast::error::timeout ? "timeout" : "tls_handshake", peer);
      co_return;
    }
  }
  beast::flat_buffer buffer;
  bool refused = false;
  for (std::size_t served = 0;; ++served) {
    if (stopping_) break;
    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser.body_limit(options_.body_limit);
    conn->idle = true;
    lowest.expires_after(options_.read_timeout);
    co_await beast_http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    conn->idle = false;
    if (!ec) {
      auto& head = parser.get();
      if (auto len = parser.content_length(); len && *len > options_.body_limit) {
        ec = beast_http::error::body_limit;
      } else if (!parser.is_done()) {
        if (beast::iequals(head[beast_http::field::expect], "100-continue")) {
          beast_http::response<beast_http::empty_body> cont{Status::continue_, head.version()};
          lowest.expires_after(options_.write_timeout);
          co_await beast_http::async_write(stream, cont, asio::redirect_error(asio::use_awaitable, ec));
        }
        if (!ec) {
          lowest.expires_after(options_.read_timeout);
          co_await beast_http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        }
      }
    }
    if (ec) {
      log_->trace("HTTP_READ_ERROR listener={} error={} served={} buffered={}", options_.name, ec.message(), served,
                  buffer.size());
      if (ec == beast::error::timeout) {
        // An idle keep-alive connection timing out between requests is normal.
        if (served == 0 || buffer.size() > 0) drop("timeout", peer);
      } else if (ec == beast_http::error::header_limit) {
        refused = true;
        drop("header_limit", peer);
        co_await refuse(*this, stream, Status::request_header_fields_too_large, "header_limit", "headers too large");
      } else if (ec == beast_http::error::body_limit) {
        refused = true;
        drop("body_limit", peer);
        co_await refuse(*this, stream, Status::payload_too_large, "body_limit", "body too large");
      } else if (!isQuietClose(ec) || buffer.size() > 0) {
        drop("bad_request", peer);
        refused = !isQuietClose(ec);
        if (refused) co_await refuse(*this, stream, Status::bad_request, "bad_request", "malformed request");
      }
      break;
    }

    Request req;
    req.message = parser.release();
    auto parts = splitTarget(req.message.target());
    req.path = std::string(parts.path);
    req.query = parseQuery(parts.query);
    req.client = peer.address();
    req.client_port = peer.port();
    req.tls = kTls;
    bool keep_alive = req.message.keep_alive() && !stopping_ && served + 1 < options_.max_requests_per_connection;

    Response res;
    try {
      res = router_.dispatch(req);
    } catch (const std::exception& e) {
      drop("handler_exception", peer);
      log_->error("HTTP_HANDLER_EXCEPTION listener={} path={} what={}", options_.name, log::sanitize(req.path),
                  log::sanitize(e.what(), 200));
      res = Response::error(Status::internal_server_error, "internal", "internal error");
    }
    keep_alive = keep_alive && !stopping_;  // a stop during the handler closes after this reply
    if (!co_await writeResponse(*this, stream, req, std::move(res), keep_alive)) break;
    if (!keep_alive) break;
  }

  conn->socket = nullptr;
  if constexpr (kTls) {
    lowest.expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    lowest.close();
  } else {
    co_await closeGracefully(stream, refused);
  }
}

void Server::Impl::launch(tcp::socket socket) {
  error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return;
  auto conn = std::make_shared<Connection>();
  conn->executor = socket.get_executor();
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    connections_[id] = conn;
  }
  active_.fetch_add(1, std::memory_order_relaxed);
  auto self = shared_from_this();
  auto done = [self, id](std::exception_ptr) { self->forget(id); };
  if (options_.tls) {
    asio::co_spawn(conn->executor,
                   runSession(TlsStream(beast::tcp_stream(std::move(socket)), *options_.tls), peer, conn), done);
  } else {
    asio::co_spawn(conn->executor, runSession(beast::tcp_stream(std::move(socket)), peer, conn), done);
  }
}

}  // namespace drover::http
