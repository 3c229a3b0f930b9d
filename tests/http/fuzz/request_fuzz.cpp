// Any bytes as what a client sends the HTTP server: the request parser with the server's
// header and body limits, then what the session does with a request it read (target split,
// query and parameter percent-decoding, routing with exact, {param} and prefix routes),
// static path normalisation, and the conditional/Range plan of a file response. Nothing
// may crash or throw; a 206 plan stays inside the file; a normalised path never climbs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/beast/http/parser.hpp>

#include "http/file_plan.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"
#include "http/url.hpp"

namespace {

using namespace drover::http;

void check(bool cond) {
  if (!cond) std::abort();
}

const Router& router() {
  static const Router r = [] {
    Router out;
    auto ok = [](const Request& req) {
      for (const auto& [k, v] : req.params)
        check(!k.empty() && !v.empty() && v.find('\0') == std::string::npos);
      return Response::text(Status::ok, req.tail);
    };
    out.add(Verb::get, "/api/v1/nodes", ok);
    out.add(Verb::get, "/api/v1/nodes/{name}", ok);
    out.add(Verb::post, "/api/v1/nodes/{name}/events", ok);
    out.add(Verb::put, "/api/v1/nodes/{name}/{field}", ok);
    out.addPrefix(Verb::get, "/images", ok);
    out.addPrefix(Verb::get, "/images/{image}/files", ok);
    out.addPrefix(Verb::get, "/", ok);
    return out;
  }();
  return r;
}

void checkPlan(const ConditionalHeaders& h, std::uint64_t size) {
  auto plan = planFileResponse(h, size, "\"e1\"", 1'700'000'000);
  check(plan.status == 200 || plan.status == 206 || plan.status == 304 || plan.status == 416);
  if (plan.status == 206) {
    check(plan.body.length > 0 && plan.body.offset < size &&
          plan.body.length <= size - plan.body.offset);
    check(!plan.content_range.empty());
  }
  if (plan.status == 200) check(plan.body.offset == 0 && plan.body.length == size);
  auto r = parseRange(h.range, size);
  if (r.kind == RangeKind::kSingle)
    check(r.range.length > 0 && r.range.offset < size && r.range.length <= size - r.range.offset);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace beast_http = boost::beast::http;
  const ServerOptions options;
  beast_http::request_parser<beast_http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
  parser.body_limit(options.body_limit);
  parser.eager(true);
  boost::system::error_code ec;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // As the session does: the bytes read so far go to the parser until it is done, fails
  // (a limit, malformed), or needs more than there is.
  while (!in.empty() && !parser.is_done()) {
    auto used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
    if (ec == beast_http::error::need_more) {
      ec = {};
      if (used == 0) break;
    }
    if (ec) return 0;
    in.remove_prefix(used);
  }
  if (!parser.is_header_done()) return 0;
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec) return 0;
  }

  Request req;
  req.message = parser.release();
  auto parts = splitTarget(req.message.target());
  req.path = std::string(parts.path);
  req.query = parseQuery(parts.query);
  for (const auto& [k, v] : req.query) check(!k.empty() && k.find('\0') == std::string::npos);
  auto res = router().dispatch(req);
  check(res.status == Status::ok || res.status == Status::not_found ||
        res.status == Status::method_not_allowed);
  if (res.status == Status::ok) check(req.tail.size() <= req.path.size());

  if (auto segments = normaliseUrlPath(req.path)) {
    std::size_t total = 0;
    for (const auto& s : *segments) {
      check(!s.empty() && s != "." && s != ".." && s.front() != '.');
      check(s.find('/') == std::string::npos && s.find('\\') == std::string::npos);
      check(s.find('\0') == std::string::npos && s.size() <= 255);
      total += s.size();
    }
    check(total <= 1024);
  }

  ConditionalHeaders h{req.header("If-None-Match"), req.header("If-Modified-Since"),
                       req.header("Range"), req.header("If-Range")};
  for (std::uint64_t file_size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4096},
                                  std::uint64_t{1} << 40, ~std::uint64_t{0}})
    checkPlan(h, file_size);
  if (auto t = parseHttpDate(h.if_modified_since)) {
    check(parseHttpDate(formatHttpDate(*t)) == t);
  }
  return 0;
}
