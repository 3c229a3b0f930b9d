#include "http/router.hpp"

#include <algorithm>

#include "http/url.hpp"

namespace drover::http {
namespace {

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return out;
}

bool isParam(const std::string& seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

}  // namespace

void Router::add(Verb method, std::string_view pattern, Handler handler) {
  addRoute(method, pattern, std::move(handler), false);
}

void Router::addPrefix(Verb method, std::string_view prefix, Handler handler) {
  addRoute(method, prefix, std::move(handler), true);
}

void Router::addRoute(Verb method, std::string_view pattern, Handler handler, bool prefix) {
  Route r{method, {}, prefix, std::move(handler)};
  for (auto s : splitPath(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
  std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
    if (a.prefix != b.prefix) return !a.prefix;
    return a.prefix && a.segments.size() > b.segments.size();
  });
}

bool Router::match(const Route& route, const std::vector<std::string_view>& path, Request& req) const {
  if (route.prefix ? path.size() < route.segments.size() : path.size() != route.segments.size())
    return false;
  std::map<std::string, std::string> params;
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    const auto& seg = route.segments[i];
    if (isParam(seg)) {
      auto decoded = percentDecode(path[i]);
      if (!decoded || decoded->empty()) return false;
      params[seg.substr(1, seg.size() - 2)] = std::move(*decoded);
    } else if (seg != path[i]) {
      return false;
    }
  }
  req.params = std::move(params);
  req.tail.clear();
  if (route.prefix && path.size() > route.segments.size()) {
    // The raw remainder, from the first segment past the prefix to the end of the path.
    std::string_view whole = req.path;
    req.tail = std::string(whole.substr(static_cast<std::size_t>(path[route.segments.size()].data() - whole.data())));
  }
  return true;
}

Response Router::dispatch(Request& req) const {
  auto path = splitPath(req.path);
  Verb want = req.method() == Verb::head ? Verb::get : req.method();
  std::string allow;
  for (const auto& route : routes_) {
    if (!match(route, path, req)) continue;
    if (route.method == want) return route.handler(req);
    std::string_view name = beast_http::to_string(route.method);
    if (allow.find(name) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += name;
      if (route.method == Verb::get) allow += ", HEAD";
    }
  }
  if (!allow.empty()) {
    auto r = Response::error(Status::method_not_allowed, "method_not_allowed", "method not allowed");
    r.headers.set(beast_http::field::allow, allow);
    return r;
  }
  return Response::error(Status::not_found, "not_found", "no such resource");
}

}  // namespace drover::http
