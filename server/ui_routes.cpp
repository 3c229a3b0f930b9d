#include "server/ui_routes.hpp"

#include <regex>

#include "server/api_routes.hpp"
#include "server/live_events.hpp"
#include "server/sessions.hpp"
#include "state/tokens.hpp"
#include "ui/assets.hpp"

namespace drover::server {
namespace {

using http::Request;
using http::Response;
using HttpStatus = http::Status;
using nlohmann::json;
namespace field = boost::beast::http;

constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src "
    "'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void secure(Response& r) {
  r.headers.set("Content-Security-Policy", kCsp);
  r.headers.set("X-Content-Type-Options", "nosniff");
  r.headers.set("Referrer-Policy", "no-referrer");
  r.headers.set("X-Frame-Options", "DENY");
  r.headers.set(field::field::cache_control, "no-store");
}

Response sessionReply(const Session& s, const SessionStore& store) {
  return Response::json(HttpStatus::ok,
                        json{{"csrf", s.csrf}, {"idle_ttl_s", store.idleTtl().count()}}.dump());
}

Response login(const Request& req, Context& ctx, AuthGuard& auth) {
  if (auto t = auth.throttled(req)) return std::move(*t);
  auto body = json::parse(req.body(), nullptr, false);
  std::string token;
  if (body.is_object() && body.contains("token") && body["token"].is_string())
    token = body["token"].get<std::string>();
  if (token.empty()) return auth.fail(req, "missing", "the operator token is required");
  if (!state::constantTimeEquals(token, ctx.operator_token))
    return auth.fail(req, "invalid", "invalid token");
  auto s = ctx.sessions->create();
  ctx.log->info("UI_LOGIN client={}", req.client.to_string());
  auto r = sessionReply(s, *ctx.sessions);
  r.headers.set(field::field::set_cookie, ctx.sessions->cookieFor(s));
  secure(r);
  return r;
}

Response currentSession(const Request& req, Context& ctx) {
  Session s;
  const auto check = ctx.sessions->check(req, &s);
  // Not logged in is an answer here, not a failure: the page asks before showing its login.
  auto r =
      check == SessionCheck::kOk
          ? sessionReply(s, *ctx.sessions)
          : Response::json(HttpStatus::ok, json{{"csrf", ""}, {"reason", toString(check)}}.dump());
  secure(r);
  return r;
}

Response logout(const Request& req, Context& ctx, AuthGuard& auth) {
  Session s;
  const auto check = ctx.sessions->check(req, &s);
  if (check != SessionCheck::kOk)
    return auth.fail(req, toString(check), "the dashboard session was refused");
  ctx.sessions->remove(s.id);
  auto r = Response::json(HttpStatus::ok, "{}");
  r.headers.set(field::field::set_cookie, SessionStore::clearingCookie());
  secure(r);
  return r;
}

Response uiEvents(const Request& req, Context& ctx) {
  // Opened with a dashboard session: the stream lasts as long as the session (and, like
  // the pages' other calls, keeps it from idling out).
  std::function<bool()> still_allowed;
  Session s;
  if (req.header("Authorization").empty() && ctx.sessions &&
      ctx.sessions->check(req, &s) == SessionCheck::kOk)
    still_allowed = [sessions = ctx.sessions, id = s.id] { return sessions->use(id).has_value(); };
  auto stream = ctx.live ? ctx.live->subscribe(std::move(still_allowed)) : nullptr;
  if (!stream) {
    auto r = Response::error(HttpStatus::service_unavailable, "too_many_clients",
                             "too many pages receive live updates; reload later");
    r.headers.set(field::field::retry_after, "10");
    return r;
  }
  Response r;
  r.headers.set(field::field::content_type, "text/event-stream");
  r.stream = std::move(stream);
  secure(r);
  return r;
}

}  // namespace

std::string_view uiContentType(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

Response uiFile(std::string_view path) {
  if (path.empty()) path = "index.html";
  const auto* f = ui::findFile(path);
  if (f == nullptr) return Response::error(HttpStatus::not_found, "not_found", "no such file");
  auto r = Response::text(HttpStatus::ok, std::string(f->data), uiContentType(path));
  secure(r);
  return r;
}

std::string maskSecrets(std::string_view text) {
  static const std::regex kSecretKey(
      R"(^(\s*-?\s*"?[A-Za-z0-9_.-]*(password|passwd|secret|token|private[_-]?key|psk|credential)[A-Za-z0-9_.-]*"?\s*:\s*)(\S.*)?$)",
      std::regex::icase);
  std::string out;
  bool in_key = false;
  bool block = false;  // the value of a masked key continues on indented lines ("|", ">")
  std::size_t block_indent = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    const auto indent = line.find_first_not_of(' ');
    if (block && (indent == std::string::npos || indent > block_indent)) {
      if (indent != std::string::npos) line = std::string(indent, ' ') + "********";
    } else {
      block = false;
      std::smatch m;
      if (line.find("-----BEGIN") != std::string::npos &&
          line.find("PRIVATE KEY") != std::string::npos) {
        in_key = true;
      } else if (in_key) {
        if (line.find("-----END") != std::string::npos)
          in_key = false;
        else
          line = std::string(indent == std::string::npos ? 0 : indent, ' ') + "********";
      } else if (std::regex_match(line, m, kSecretKey)) {
        const auto value = m[3].str();
        if (value.empty() || value == "|" || value == ">" || value == "|-" || value == ">-") {
          block = true;
          block_indent = indent == std::string::npos ? 0 : indent;
        } else {
          line = m[1].str() + "********";
        }
      }
    }
    out += line;
    if (end < text.size()) out += '\n';
    if (end == text.size()) break;
  }
  return out;
}

void addUiRoutes(http::Router& router, Context& ctx, std::shared_ptr<AuthGuard> auth) {
  using V = http::Verb;
  router.add(V::get, "/", [](const Request&) {
    Response r = Response::text(HttpStatus::found, "");
    r.headers.set(field::field::location, "/ui/");
    return r;
  });
  router.add(V::get, "/ui", [](const Request& req) {
    if (req.path.ends_with("/")) return uiFile("");
    Response r = Response::text(HttpStatus::found, "");
    r.headers.set(field::field::location, "/ui/");
    return r;
  });
  router.addPrefix(V::get, "/ui", [](const Request& r) { return uiFile(r.tail); });
  router.add(V::get, "/ui/session", [&ctx](const Request& r) { return currentSession(r, ctx); });
  router.add(V::post, "/ui/login", [&ctx, auth](const Request& r) { return login(r, ctx, *auth); });
  router.add(V::post, "/ui/logout",
             [&ctx, auth](const Request& r) { return logout(r, ctx, *auth); });

  auto guarded = [auth](auto fn) {
    return [auth, fn](const Request& req) -> Response {
      if (auto refused = auth->operatorCall(req)) return std::move(*refused);
      return fn(req);
    };
  };
  router.add(V::get, "/v1/ui/overview",
             guarded([&ctx](const Request&) { return uiOverview(ctx); }));
  router.add(V::get, "/v1/ui/nodes", guarded([&ctx](const Request&) { return uiNodes(ctx); }));
  router.add(V::get, "/v1/ui/nodes/{name}/preview",
             guarded([&ctx](const Request& r) { return uiPreview(ctx, r.params.at("name")); }));
  router.add(V::get, "/v1/ui/images", guarded([&ctx](const Request&) { return uiImages(ctx); }));
  router.add(V::get, "/v1/ui/events",
             guarded([&ctx](const Request& r) { return uiEvents(r, ctx); }));
}

}  // namespace drover::server
