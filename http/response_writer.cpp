// Writing a Response: string bodies through Beast; file bodies as a Beast-written header
#include <utility>  // before Asio (GCC 12)

// followed by sendfile(2) (plain TCP) or a buffered copy (TLS).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "http/file_plan.hpp"
#include "http/server_impl.hpp"

namespace drover::http {
namespace {

namespace beast = boost::beast;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using boost::system::error_code;

// Then yield to other sends. With file bodies on their own threads (ServerOptions::bulk) the
// turn only shares those threads among the downloads: 4 MiB turns finished a 100-machine
// storm's initrds sooner and more evenly than 1 MiB (p99 1.1-1.25 s vs 1.27-2.2 s) and as
// well as 16 MiB. Without the bulk threads, requests and TFTP once waited seconds behind
// 8 MiB turns (boot-storm finding), hence the separate threads.
constexpr std::size_t kSendfileChunk = 4 * 1024 * 1024;
constexpr std::size_t kCopyBuffer = 64 * 1024;
// Bodies up to this size go out from the request thread: a dup(2) and two hops
// to the bulk threads would cost more than the send itself (small assets, loaders).
constexpr std::uint64_t kInlineBody = 256 * 1024;

// Waits until `socket` (a tcp::socket, or a stream_descriptor of one) is writable, at most
// `timeout`. False on timeout or error.
template <class Waitable>
asio::awaitable<bool> awaitWritable(Waitable& socket, std::chrono::milliseconds timeout) {
  struct Wait {
    bool done = false;
    bool timed_out = false;
  };
  auto wait = std::make_shared<Wait>();
  asio::steady_timer timer(socket.get_executor());
  timer.expires_after(timeout);
  // Both handlers run serialized (on the session's strand, or on a bulk context's one
  // thread); `done` keeps a late timer from touching a socket no longer waited on.
  timer.async_wait([wait, &socket](error_code ec) {
    if (ec || wait->done) return;
    wait->timed_out = true;
    error_code ignored;
    socket.cancel(ignored);
  });
  error_code ec;
  co_await socket.async_wait(Waitable::wait_write, asio::redirect_error(asio::use_awaitable, ec));
  wait->done = true;
  timer.cancel();
  co_return !ec && !wait->timed_out;
}

enum class SendResult { kOk, kTimeout, kError };

// TCP_CORK on a plain TCP socket; failing only costs segment sizes, so it is not checked.
void setCork(int socket_fd, bool on) {
  const int v = on ? 1 : 0;
  ::setsockopt(socket_fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}

// Zero-copy: the kernel moves file pages to the socket (non-blocking), waiting on `socket`
// for room.
template <class Waitable>
asio::awaitable<SendResult> sendfileLoop(Server::Impl& server, Waitable& socket, int fd,
                                         ByteRange range) {
  off_t offset = static_cast<off_t>(range.offset);
  std::uint64_t left = range.length;
  std::size_t since_yield = 0;
  SendResult result = SendResult::kOk;
  while (left > 0) {
    const std::size_t asked = std::min<std::uint64_t>(left, kSendfileChunk);
    ssize_t n = ::sendfile(socket.native_handle(), fd, &offset, asked);
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
      server.countBytes(static_cast<std::uint64_t>(n));
      since_yield += static_cast<std::size_t>(n);
      if (since_yield >= kSendfileChunk) {
        since_yield = 0;
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      }
      // A short send means the socket buffer is full: wait for room rather than make a
      // call that can only fail with EAGAIN (and has the kernel read file pages for it).
      if (static_cast<std::size_t>(n) < asked && left > 0 &&
          !co_await awaitWritable(socket, server.options().write_timeout)) {
        result = socket.is_open() ? SendResult::kTimeout : SendResult::kError;
        break;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!co_await awaitWritable(socket, server.options().write_timeout)) {
        result = socket.is_open() ? SendResult::kTimeout : SendResult::kError;
        break;
      }
      continue;
    }
    result = SendResult::kError;  // n == 0: the file shrank under us; or a socket error
    break;
  }
  co_return result;
}

// The send on the bulk io_context, through a duplicate descriptor of the session's socket
// registered with the bulk reactor. A bulk io_context is run by one thread, so the
// writability wait and its timer need no strand.
asio::awaitable<SendResult> sendOnBulk(Server::Impl& server, int socket_fd, int fd,
                                       ByteRange range) {
  const int dup_fd = ::fcntl(socket_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) co_return SendResult::kError;
  asio::posix::stream_descriptor socket(co_await asio::this_coro::executor, dup_fd);
  co_return co_await sendfileLoop(server, socket, fd, range);
}

asio::awaitable<SendResult> sendFileBody(Server::Impl& server, beast::tcp_stream& stream, int fd,
                                         ByteRange range) {
  auto& socket = stream.socket();
  error_code ec;
  socket.native_non_blocking(true, ec);  // shared with the duplicate descriptor, if any
  if (ec) co_return SendResult::kError;
  SendResult result;
  auto* bulk = range.length > kInlineBody ? server.nextBulk() : nullptr;
  if (bulk != nullptr) {
    result = co_await asio::co_spawn(*bulk, sendOnBulk(server, socket.native_handle(), fd, range),
                                     asio::use_awaitable);
  } else {
    result = co_await sendfileLoop(server, socket, fd, range);
  }
  if (socket.is_open()) socket.native_non_blocking(false, ec);
  co_return result;
}

// TLS: no kernel TLS here, so the bytes go through user space.
asio::awaitable<SendResult> sendFileBody(Server::Impl& server, TlsStream& stream, int fd,
                                         ByteRange range) {
  std::vector<char> buf(kCopyBuffer);
  std::uint64_t offset = range.offset;
  std::uint64_t left = range.length;
  while (left > 0) {
    ssize_t n = ::pread(fd, buf.data(), std::min<std::uint64_t>(left, buf.size()),
                        static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) co_return SendResult::kError;
    error_code ec;
    beast::get_lowest_layer(stream).expires_after(server.options().write_timeout);
    co_await asio::async_write(stream, asio::buffer(buf.data(), static_cast<std::size_t>(n)),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec == beast::error::timeout ? SendResult::kTimeout : SendResult::kError;
    server.countBytes(static_cast<std::uint64_t>(n));
    offset += static_cast<std::uint64_t>(n);
    left -= static_cast<std::uint64_t>(n);
  }
  co_return SendResult::kOk;
}

// Responses go out as one run of bytes each, built here: the status line, the fields in
// their order, the blank line, then a string body. One buffer to send instead of a chain
// of asynchronous writes.
void appendStatusLine(std::string& wire, unsigned version, unsigned code, std::string_view reason) {
  const auto digit = [](unsigned v) { return static_cast<char>('0' + v % 10); };
  wire += "HTTP/";
  wire += digit(version / 10);
  wire += '.';
  wire += digit(version);
  wire += ' ';
  wire += digit(code / 100);
  wire += digit(code / 10);
  wire += digit(code);
  wire += ' ';
  wire.append(reason);
  wire += "\r\n";
}

void appendField(std::string& wire, std::string_view name, std::string_view value) {
  wire.append(name);
  wire += ": ";
  wire.append(value);
  wire += "\r\n";
}

// A Beast message (a header, or a header and its string body).
template <class Message>
void serialize(const Message& msg, std::string& wire) {
  std::size_t size = 32;
  for (const auto& f : msg) size += f.name_string().size() + f.value().size() + 4;
  if constexpr (!std::is_same_v<typename Message::body_type, beast_http::empty_body>)
    size += msg.body().size();
  wire.reserve(size);
  const auto reason = msg.reason();
  appendStatusLine(wire, msg.version(), msg.result_int(),
                   reason.empty() ? beast_http::obsolete_reason(msg.result()) : reason);
  for (const auto& f : msg) appendField(wire, f.name_string(), f.value());
  wire += "\r\n";
  if constexpr (!std::is_same_v<typename Message::body_type, beast_http::empty_body>)
    wire += msg.body();
}

// A response with a string body, straight from the handler's Response: its fields (but
// those the server sets), Server, the length (none for 204 and 304; HEAD gets the length
// of the body it does not get), and Connection as Beast's keep_alive() would set it:
// "close" ends an HTTP/1.1 connection, "keep-alive" keeps an HTTP/1.0 one.
void serializeText(const Response& res, unsigned version, bool keep_alive, bool head,
                   std::string& wire) {
  const bool bodyless = res.status == Status::not_modified || res.status == Status::no_content;
  std::size_t size = 96 + (head || bodyless ? 0 : res.body.size());
  for (const auto& f : res.headers) size += f.name_string().size() + f.value().size() + 4;
  wire.reserve(size);
  appendStatusLine(wire, version, static_cast<unsigned>(res.status),
                   beast_http::obsolete_reason(res.status));
  for (const auto& f : res.headers) {
    const auto name = f.name();
    if (name == beast_http::field::server || name == beast_http::field::content_length ||
        name == beast_http::field::connection || name == beast_http::field::transfer_encoding)
      continue;
    appendField(wire, f.name_string(), f.value());
  }
  appendField(wire, "Server", "drover");
  if (!bodyless) {
    char digits[24];
    auto* end = std::to_chars(digits, digits + sizeof digits, res.body.size()).ptr;
    appendField(wire, "Content-Length",
                std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  if (version >= 11 && !keep_alive) appendField(wire, "Connection", "close");
  if (version < 11 && keep_alive) appendField(wire, "Connection", "keep-alive");
  wire += "\r\n";
  if (!head && !bodyless) wire += res.body;
}

// Sends what the socket takes now without waiting (a response usually fits in the socket
// buffer): no reactor operation, no timer. Returns the bytes sent, or nullopt on an error.
std::optional<std::size_t> sendNow(int fd, std::string_view bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return std::nullopt;
    }
  }
  return sent;
}

// Sends `wire`: what the socket takes at once, then the rest when it has room (within the
// write timeout).
template <class Stream>
asio::awaitable<bool> writeWire(Server::Impl& server, Stream& stream, std::string wire) {
  auto& lowest = beast::get_lowest_layer(stream);
  error_code ec;
  std::size_t sent = 0;
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    auto now = sendNow(lowest.socket().native_handle(), wire);
    if (now)
      sent = *now;
    else
      ec = asio::error::broken_pipe;
  }
  if (!ec && sent < wire.size()) {
    lowest.expires_after(server.options().write_timeout);
    sent += co_await asio::async_write(stream, asio::buffer(wire.data() + sent, wire.size() - sent),
                                       asio::redirect_error(asio::use_awaitable, ec));
  }
  server.countBytes(sent);
  if (ec) {
    boost::system::error_code ignored;
    server.drop(ec == beast::error::timeout ? "timeout" : "write_error",
                lowest.socket().remote_endpoint(ignored));
  }
  co_return !ec;
}

template <class Stream, class Message>
asio::awaitable<bool> writeMessage(Server::Impl& server, Stream& stream, Message& msg) {
  std::string wire;
  serialize(msg, wire);
  co_return co_await writeWire(server, stream, std::move(wire));
}

// The client of a stream sends nothing after its request, so bytes or an end of file on
// its socket mean it went away (a closed page: TLS close_notify, FIN or RST). Noticed at
// the next poll instead of at the next write, which may be many seconds away.
bool peerGone(int fd) {
  std::byte probe{};
  const auto n = ::recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// A streamed body: the header without a length, then whatever the source yields, polled
// on the connection's strand. Ends the connection.
template <class Stream>
asio::awaitable<bool> writeStream(Server::Impl& server, Stream& stream, const Request& req,
                                  beast_http::response<beast_http::empty_body>& header,
                                  StreamSource& source) {
  header.keep_alive(false);
  header.set(beast_http::field::connection, "close");
  server.countRequest(header.result_int());
  {
    beast_http::response_serializer<beast_http::empty_body> sr{header};
    error_code ec;
    beast::get_lowest_layer(stream).expires_after(server.options().write_timeout);
    std::size_t n = co_await beast_http::async_write_header(
        stream, sr, asio::redirect_error(asio::use_awaitable, ec));
    server.countBytes(n);
    if (ec) co_return false;
  }
  if (req.method() == Verb::head) co_return false;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!server.stopping()) {
    if (peerGone(beast::get_lowest_layer(stream).socket().native_handle())) break;
    auto chunk = source.next();
    if (!chunk) break;
    if (!chunk->empty()) {
      error_code ec;
      beast::get_lowest_layer(stream).expires_after(server.options().write_timeout);
      std::size_t n = co_await asio::async_write(stream, asio::buffer(*chunk),
                                                 asio::redirect_error(asio::use_awaitable, ec));
      server.countBytes(n);
      if (ec) {
        error_code ignored;
        if (ec == beast::error::timeout)
          server.drop("timeout", beast::get_lowest_layer(stream).socket().remote_endpoint(ignored));
        co_return false;
      }
    }
    timer.expires_after(source.pollInterval());
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return false;
}

}  // namespace

template <class Stream>
asio::awaitable<bool> writeResponse(Server::Impl& server, Stream& stream, const Request& req,
                                    Response res, bool keep_alive) {
  const bool head = req.method() == Verb::head;
  if (!res.file && !res.stream) {
    server.countRequest(static_cast<unsigned>(res.status));
    std::string wire;
    serializeText(res, req.message.version(), keep_alive, head, wire);
    co_return co_await writeWire(server, stream, std::move(wire));
  }
  beast_http::response<beast_http::empty_body> header{res.status, req.message.version()};
  for (const auto& f : res.headers) header.set(f.name_string(), f.value());
  header.set(beast_http::field::server, "drover");
  header.keep_alive(keep_alive);

  if (res.stream) co_return co_await writeStream(server, stream, req, header, *res.stream);

  FileBody& file = *res.file;
  std::time_t mtime = static_cast<std::time_t>(file.mtime_ns / 1'000'000'000);
  ConditionalHeaders cond;
  if (req.method() == Verb::get || head) {
    cond.if_none_match = req.header("If-None-Match");
    cond.if_modified_since = req.header("If-Modified-Since");
    cond.range = req.header("Range");
    cond.if_range = req.header("If-Range");
  }
  FilePlan plan = planFileResponse(cond, file.size, file.etag, mtime);
  if (res.status == Status::ok) header.result(plan.status);
  header.set(beast_http::field::etag, file.etag);
  header.set(beast_http::field::last_modified, formatHttpDate(mtime));
  header.set(beast_http::field::accept_ranges, "bytes");
  if (!plan.content_range.empty()) header.set(beast_http::field::content_range, plan.content_range);
  if (plan.status != 304) header.content_length(plan.body.length);
  server.countRequest(header.result_int());
  // A large body over plain TCP goes out corked, header included (full segments only; the
  // tail is flushed when the cork comes off). The connection is TCP_NODELAY for small
  // responses, and without the cork sendfile pushes a short segment at the end of each
  // piece it moves: 1,000 machines fetching 40 MiB each took 10.0-10.8 s uncorked and
  // 7.6-7.8 s corked (docs/benchmarks.md, "Boot storm").
  const bool cork =
      std::is_same_v<Stream, beast::tcp_stream> && !head && plan.body.length > kInlineBody;
  const int socket_fd = beast::get_lowest_layer(stream).socket().native_handle();
  if (cork) setCork(socket_fd, true);
  if (!co_await writeMessage(server, stream, header)) co_return false;
  if (head || plan.body.length == 0) co_return true;

  SendResult sent = co_await sendFileBody(server, stream, file.fd.get(), plan.body);
  if (cork && sent == SendResult::kOk) setCork(socket_fd, false);
  if (sent != SendResult::kOk) {
    error_code ignored;
    server.drop(sent == SendResult::kTimeout ? "timeout" : "write_error",
                beast::get_lowest_layer(stream).socket().remote_endpoint(ignored));
    co_return false;
  }
  co_return true;
}

template asio::awaitable<bool> writeResponse<beast::tcp_stream>(Server::Impl&, beast::tcp_stream&,
                                                                const Request&, Response, bool);
template asio::awaitable<bool> writeResponse<TlsStream>(Server::Impl&, TlsStream&, const Request&,
                                                        Response, bool);

}  // namespace drover::http
