#include "server/api_auth.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "server/sessions.hpp"
#include "state/tokens.hpp"

namespace drover::server {

using HttpStatus = http::Status;

std::string bearerToken(const http::Request& req) {
  auto h = req.header("Authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (h.size() <= kPrefix.size() || h.substr(0, kPrefix.size()) != kPrefix) return {};
  return std::string(h.substr(kPrefix.size()));
}

std::string agentCredential(const std::string& node, const std::string& secret) { return node + "." + secret; }

std::optional<http::Response> AuthGuard::throttled(const http::Request& req) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(req.client.to_string());
  if (it == failures_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() - it->second.start > kWindow) {
    failures_.erase(it);
    return std::nullopt;
  }
  if (it->second.failures < kBurst) return std::nullopt;
  ctx_.registry.counter("api_auth_failures_total", "API calls refused for their credentials", "reason=\"throttled\"")++;
  return http::Response::error(HttpStatus::too_many_requests, "throttled", "too many failed attempts; wait");
}

http::Response AuthGuard::fail(const http::Request& req, std::string_view reason, std::string_view message) {
  ctx_.registry.counter("api_auth_failures_total", "API calls refused for their credentials",
                        fmt::format("reason=\"{}\"", reason))++;
  {
    std::lock_guard lock(mu_);
    if (failures_.size() > 10000) failures_.clear();  // bounded memory under a spray of addresses
    auto& w = failures_[req.client.to_string()];
    const auto now = std::chrono::steady_clock::now();
    if (w.failures == 0 || now - w.start > kWindow) w = Window{now, 0};
    ++w.failures;
  }
  static log::RateLimit limit;
  std::uint64_t suppressed = 0;
  if (limit.allow(suppressed)) {
    ctx_.log->warn("API_AUTH_FAILED client={} path={} reason={} suppressed={}", req.client.to_string(),
                   log::sanitize(req.path), reason, suppressed);
  }
  const auto status = reason == "other_node" || reason.starts_with("csrf")
                          ? HttpStatus::forbidden
                          : HttpStatus::unauthorized;
  return http::Response::error(status, reason, message);
}

std::variant<std::string, http::Response> AuthGuard::node(const http::Request& req) {
  if (auto t = throttled(req)) return std::move(*t);
  auto token = bearerToken(req);
  if (token.empty()) return fail(req, "missing", "a node credential is required");
  auto dot = token.rfind('.');
  if (dot == std::string::npos || dot == 0) return fail(req, "malformed", "malformed credential");
  std::string node = token.substr(0, dot);
  if (auto st = ctx_.tokens.verifyNodeCredential(node, std::string_view(token).substr(dot + 1)); !st) {
    return fail(req, "invalid", "invalid credential");
  }
  return node;
}

std::optional<http::Response> AuthGuard::operatorCall(const http::Request& req) {
  if (auto t = throttled(req)) return t;
  auto token = bearerToken(req);
  if (token.empty() && ctx_.sessions && !req.header("Cookie").empty()) {
    // A dashboard session stands in for the token; state changes also need its CSRF token.
    const auto check = ctx_.sessions->check(req);
    if (check == SessionCheck::kOk) return std::nullopt;
    if (check != SessionCheck::kNoCookie)
      return fail(req, toString(check), "the dashboard session was refused");
  }
  if (token.empty()) return fail(req, "missing", "the operator token is required");
  if (!state::constantTimeEquals(token, ctx_.operator_token)) return fail(req, "invalid", "invalid token");
  return std::nullopt;
}

}  // namespace drover::server
