// What a handler sees (Request) and what it returns (Response). A response carries a string
// body, an open file or a stream; the server applies conditional requests and Range to file
// bodies and sends them with sendfile(2).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include "common/fd.hpp"
#include "http/url.hpp"

namespace drover::http {

namespace beast_http = boost::beast::http;
using Status = beast_http::status;
using Verb = beast_http::verb;

struct Request {
  beast_http::request<beast_http::string_body> message;  // method, target, headers, body
  std::string path;                                      // raw path part of the target
  QueryParams query;                                     // percent-decoded query parameters
  std::map<std::string, std::string> params;             // percent-decoded {name} segments
  std::string tail;                                      // raw rest of the path for prefix routes
  boost::asio::ip::address client;
  std::uint16_t client_port = 0;
  bool tls = false;

  Verb method() const { return message.method(); }
  std::string_view header(std::string_view name) const;
  const std::string& body() const { return message.body(); }
  // A query or path parameter, empty when absent.
  std::string queryOr(const std::string& key, std::string fallback = {}) const;
};

struct FileBody {
  UniqueFd fd;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string etag;  // quoted strong ETag (see makeEtag)
};

// A long-lived body (Server-Sent Events): after the header the server asks next() every
// pollInterval() and writes what it returns, until next() says the stream is over, the
// client goes away, a write times out or the server stops. next() runs on the connection's
// strand and must not block. The response has no length and closes the connection.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // Text to send now ("" for nothing yet), or nullopt when the stream is over.
  virtual std::optional<std::string> next() = 0;
  virtual std::chrono::milliseconds pollInterval() const { return std::chrono::milliseconds(100); }
};

struct Response {
  Status status = Status::ok;
  beast_http::fields headers;  // Content-Type and anything else the handler sets
  std::string body;
  std::optional<FileBody> file;            // when set, `body` is ignored
  std::shared_ptr<StreamSource> stream{};  // when set, `body` and `file` are ignored

  static Response text(Status status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");
  static Response json(Status status, std::string body);
  // The API's error shape: {"error": code, "message": text}.
  static Response error(Status status, std::string_view code, std::string_view message);
  static Response fromFile(FileBody file,
                           std::string_view content_type = "application/octet-stream");
};

}  // namespace drover::http
