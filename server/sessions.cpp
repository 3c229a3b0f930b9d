#include "server/sessions.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "state/tokens.hpp"

namespace drover::server {

std::string_view toString(SessionCheck c) {
  switch (c) {
    case SessionCheck::kOk:
      return "ok";
    case SessionCheck::kNoCookie:
      return "no_session";
    case SessionCheck::kUnknown:
      return "unknown_session";
    case SessionCheck::kExpired:
      return "session_expired";
    case SessionCheck::kCsrfMissing:
      return "csrf_missing";
    case SessionCheck::kCsrfMismatch:
      return "csrf_mismatch";
  }
  return "unknown_session";
}

SessionStore::SessionStore(std::chrono::seconds idle_ttl, std::chrono::seconds max_age, Clock clock)
    : idle_ttl_(idle_ttl), max_age_(std::max(max_age, idle_ttl)), clock_(std::move(clock)) {}

bool SessionStore::expiredAt(const Session& s, std::int64_t now) const {
  const auto idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(idle_ttl_).count();
  const auto max_ms = std::chrono::duration_cast<std::chrono::milliseconds>(max_age_).count();
  return now - s.last_used_ms >= idle_ms || now - s.created_ms >= max_ms;
}

Session SessionStore::create() {
  const auto now = clock_();
  Session s{state::generateToken(), state::generateToken(), now, now};
  std::lock_guard lock(mu_);
  std::erase_if(sessions_, [&](const auto& kv) { return expiredAt(kv.second, now); });
  if (sessions_.size() >= kMaxSessions) {
    auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.last_used_ms < b.second.last_used_ms; });
    sessions_.erase(oldest);
  }
  sessions_.emplace(s.id, s);
  return s;
}

std::optional<Session> SessionStore::use(std::string_view id, bool* expired) {
  if (expired) *expired = false;
  const auto now = clock_();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  // The map is keyed by the id; compare it once more in constant time all the same.
  if (!state::constantTimeEquals(it->first, id)) return std::nullopt;
  if (expiredAt(it->second, now)) {
    sessions_.erase(it);
    if (expired) *expired = true;
    return std::nullopt;
  }
  it->second.last_used_ms = now;
  return it->second;
}

void SessionStore::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end()) sessions_.erase(it);
}

std::size_t SessionStore::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

SessionCheck SessionStore::check(const http::Request& req, Session* out) {
  const auto id = cookieValue(req.header("Cookie"), kSessionCookie);
  if (id.empty()) return SessionCheck::kNoCookie;
  bool expired = false;
  auto s = use(id, &expired);
  if (!s) return expired ? SessionCheck::kExpired : SessionCheck::kUnknown;
  if (changesState(req.method())) {
    const auto csrf = req.header(kCsrfHeader);
    if (csrf.empty()) return SessionCheck::kCsrfMissing;
    if (!state::constantTimeEquals(csrf, s->csrf)) return SessionCheck::kCsrfMismatch;
  }
  if (out) *out = std::move(*s);
  return SessionCheck::kOk;
}

std::string SessionStore::cookieFor(const Session& s) const {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict", kSessionCookie,
                     s.id, max_age_.count());
}

std::string SessionStore::clearingCookie() {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict", kSessionCookie);
}

std::string cookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    return std::string(pair.substr(eq + 1));
  }
  return {};
}

bool changesState(http::Verb method) {
  return method != http::Verb::get && method != http::Verb::head && method != http::Verb::options;
}

}  // namespace drover::server
