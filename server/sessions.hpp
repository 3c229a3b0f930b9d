// Dashboard sessions: the operator logs in once with the operator token and the browser
// holds a session cookie from then on.
//
//   cookie      drover_session=<32 random bytes>; Path=/; Max-Age; HttpOnly; Secure;
//               SameSite=Strict
//   CSRF token  one per session, handed to the page at login; every POST, PUT and DELETE
//               made with the cookie carries it in X-CSRF-Token
//   expiry      idle: `idle_ttl` after the last request; absolute: `max_age` after login
//
// Sessions live in this process's memory only: a restart of `drover serve` logs every
// browser out. The store keeps at most kMaxSessions; a login beyond that drops the oldest.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace drover::server {

inline constexpr std::string_view kSessionCookie = "drover_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

struct Session {
  std::string id;
  std::string csrf;
  std::int64_t created_ms = 0;
  std::int64_t last_used_ms = 0;
};

// Why a request's session was refused; kOk when it was accepted.
enum class SessionCheck { kOk, kNoCookie, kUnknown, kExpired, kCsrfMissing, kCsrfMismatch };
std::string_view toString(SessionCheck c);

class SessionStore {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix ms
  static constexpr std::size_t kMaxSessions = 1024;

  SessionStore(std::chrono::seconds idle_ttl, std::chrono::seconds max_age, Clock clock);

  Session create();
  // The live session `id`, refreshed (last use = now); nullopt when unknown or expired
  // (an expired one is forgotten). `expired` says which.
  std::optional<Session> use(std::string_view id, bool* expired = nullptr);
  void remove(std::string_view id);
  std::size_t size() const;

  // The request's session cookie and, for state-changing methods, its CSRF header.
  SessionCheck check(const http::Request& req, Session* out = nullptr);

  // Set-Cookie values: a new session's cookie, and one that deletes it.
  std::string cookieFor(const Session& s) const;
  static std::string clearingCookie();

  std::chrono::seconds idleTtl() const { return idle_ttl_; }

 private:
  bool expiredAt(const Session& s, std::int64_t now) const;

  std::chrono::seconds idle_ttl_;
  std::chrono::seconds max_age_;
  Clock clock_;
  mutable std::mutex mu_;
  std::map<std::string, Session, std::less<>> sessions_;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"), empty when absent.
std::string cookieValue(std::string_view header, std::string_view name);

// Whether `method` changes state (anything but GET, HEAD and OPTIONS).
bool changesState(http::Verb method);

}  // namespace drover::server
