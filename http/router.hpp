// Method + path -> handler. Patterns are split on '/'; a segment `{name}` matches any one
// non-empty segment and lands percent-decoded in Request::params. Exact routes match the
// whole path; prefix routes match leading segments and leave the raw rest in Request::tail.
// Exact routes are tried before prefix routes, longer prefixes before shorter ones.
// HEAD uses the GET handler (the server drops the body). A path that matches with another
// method answers 405 with Allow; no match answers 404.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace drover::http {

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  void add(Verb method, std::string_view pattern, Handler handler);
  void addPrefix(Verb method, std::string_view prefix, Handler handler);

  // Fills req.params / req.tail and runs the matching handler (404/405 otherwise).
  Response dispatch(Request& req) const;

 private:
  struct Route {
    Verb method;
    std::vector<std::string> segments;
    bool prefix = false;
    Handler handler;
  };
  void addRoute(Verb method, std::string_view pattern, Handler handler, bool prefix);
  bool match(const Route& route, const std::vector<std::string_view>& path, Request& req) const;

  std::vector<Route> routes_;  // exact first, then prefixes by decreasing length
};

}  // namespace drover::http
