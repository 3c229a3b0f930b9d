// Authentication shared by the API routes: bearer tokens, node credentials of the form
// "<node>.<secret>", and a per-address limit on failed attempts.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "http/message.hpp"
#include "server/context.hpp"

namespace drover::server {

// The token after "Bearer ", empty when absent.
std::string bearerToken(const http::Request& req);

// "<node>.<secret>" as handed to an agent.
std::string agentCredential(const std::string& node, const std::string& secret);

class AuthGuard {
 public:
  explicit AuthGuard(Context& ctx) : ctx_(ctx) {}

  // The node the request's credential belongs to, or the error response to send.
  std::variant<std::string, http::Response> node(const http::Request& req);
  // nullopt when the operator token matches (or, without a token, a dashboard session with
  // its CSRF token for state changes: server/sessions.hpp), else the error response to send.
  std::optional<http::Response> operatorCall(const http::Request& req);
  // Records a failed attempt (also used by the token exchange); the response to send.
  http::Response fail(const http::Request& req, std::string_view reason, std::string_view message);
  // A 429 when `req`'s address has failed too often lately.
  std::optional<http::Response> throttled(const http::Request& req);

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    int failures = 0;
  };
  static constexpr int kBurst = 20;
  static constexpr std::chrono::seconds kWindow{10};

  Context& ctx_;
  std::mutex mu_;
  std::map<std::string, Window> failures_;  // by client address
};

}  // namespace drover::server
