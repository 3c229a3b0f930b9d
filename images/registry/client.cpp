#include "images/registry/client.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/curl/easy.hpp"
#include "common/log.hpp"

namespace drover::images::registry {
namespace {

using nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// `Scheme k1="v1",k2=v2`: the scheme (lower case) and its parameters (keys lower case).
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};

Challenge parseChallenge(std::string_view text) {
  Challenge c;
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const std::size_t start = i;
  while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  c.scheme = lower(std::string(text.substr(start, i - start)));
  while (i < text.size()) {
    while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ','))
      ++i;
    const std::size_t k = i;
    while (i < text.size() && text[i] != '=') ++i;
    if (i >= text.size()) break;
    std::string key = lower(trim(text.substr(k, i - k)));
    ++i;
    std::string value;
    if (i < text.size() && text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i];
      }
      ++i;
    } else {
      while (i < text.size() && text[i] != ',') value += text[i++];
      value = trim(value);
    }
    c.params[key] = value;
  }
  return c;
}

struct Transfer {
  CURL* curl = nullptr;
  const BodySink* sink = nullptr;
  Reply* reply = nullptr;
  std::size_t max_body = 0;
  bool decided = false;
  bool streaming = false;
  bool aborted = false;  // the sink refused, or the kept body grew past max_body
};

std::size_t onHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->reply->headers.clear();  // a new response (after a redirect or 100 Continue)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->reply->headers[lower(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * n;
}

std::size_t onBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  if (!t->decided) {
    t->decided = true;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->reply->status);
    t->streaming = *t->sink && (t->reply->status == 200 || t->reply->status == 206);
  }
  if (t->streaming) {
    if ((*t->sink)(t->reply->status, std::string_view(data, len))) return len;
    t->aborted = true;
    return 0;
  }
  if (t->reply->body.size() + len > t->max_body) {
    t->aborted = true;
    return 0;
  }
  t->reply->body.append(data, len);
  return len;
}

std::string escape(CURL* curl, const std::string& s) {
  char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

Result<curl::Easy> makeEasy(const Options& o) {
  curl::Options c;
  c.user_agent = "drover-images";
  c.connect_timeout_s = o.connect_timeout_s;
  c.stall_timeout_s = o.stall_timeout_s;
  c.follow_redirects = true;  // blob storage behind a redirect
  c.tls.ca_file = o.ca_file;
  auto easy = curl::Easy::create(std::move(c));
  if (easy && o.insecure_tls) {
    curl_easy_setopt(easy->get(), CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy->get(), CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return easy;
}

}  // namespace

Error replyError(const Reply& reply, const std::string& what) {
  std::string detail;
  auto doc = json::parse(reply.body, nullptr, false);
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    for (const auto& e : doc["errors"]) {
      if (!e.is_object()) continue;
      if (!detail.empty()) detail += "; ";
      detail += e.value("code", std::string("?")) + ": " + e.value("message", std::string());
    }
  }
  const std::string msg =
      fmt::format("{}: HTTP {}{}", what, reply.status, detail.empty() ? "" : " (" + detail + ")");
  if (reply.status == 404) return makeError("not_found", msg);
  if (reply.status == 401) return makeError("unauthorized", msg);
  if (reply.status == 403) return makeError("denied", msg);
  return makeError("http_status", msg);
}

Client::Client(Reference ref, Options options)
    : ref_(std::move(ref)), options_(std::move(options)) {}

std::string Client::url(const std::string& path) const {
  return fmt::format("{}://{}/v2/{}/{}", options_.plain_http ? "http" : "https", ref_.host(),
                     ref_.repository, path);
}

Result<Reply> Client::once(const std::string& u, const std::vector<std::string>& headers,
                           const BodySink& sink, std::size_t max_body, const std::string& userpwd) {
  auto easy = makeEasy(options_);
  if (!easy) return easy.error();
  easy->setUrl(u);
  easy->setHeaders(headers);
  if (!userpwd.empty()) {
    curl_easy_setopt(easy->get(), CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(easy->get(), CURLOPT_USERPWD, userpwd.c_str());
  }
  Reply reply;
  Transfer t{easy->get(), &sink, &reply, max_body};
  curl_easy_setopt(easy->get(), CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(easy->get(), CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy->get(), CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(easy->get(), CURLOPT_WRITEDATA, &t);
  const auto out = easy->perform();
  reply.status = out.status;
  if (t.aborted && !t.streaming)
    return makeError("http_status", fmt::format("{}: a reply of more than {} bytes", u, max_body));
  if (!out.ok() && !t.aborted) return curl::transferError(out, u);
  return reply;  // a sink that aborted knows why
}

Result<Reply> Client::get(const std::string& path, const std::vector<std::string>& headers,
                          const BodySink& sink, std::size_t max_body) {
  const std::string u = url(path);
  auto with = [&] {
    auto h = headers;
    if (!authorization_.empty()) h.push_back(authorization_);
    return h;
  };
  auto r = once(u, with(), sink, max_body, "");
  if (!r || r->status != 401) return r;
  // Unauthorized: authenticate as the challenge asks (again, when a token expired meanwhile)
  // and ask once more; a second 401 is the answer.
  const auto it = r->headers.find("www-authenticate");
  if (it == r->headers.end()) return r;
  if (auto st = authorize(it->second); !st) return st.error();
  r = once(u, with(), sink, max_body, "");
  if (r && r->status == 401) {
    authorization_.clear();
    return replyError(*r, u + " refused the credentials");
  }
  return r;
}

Status Client::authorize(const std::string& header) {
  static auto log = log::get("registry");
  const Challenge c = parseChallenge(header);
  const auto& creds = options_.credentials;
  if (c.scheme == "basic") {
    if (!creds)
      return makeError("unauthorized",
                       fmt::format("{} asks for a user name and password and none are configured "
                                   "(DROVER_REGISTRY_USERNAME/_PASSWORD or {})",
                                   ref_.registry, kCredentialsFile));
    if (options_.plain_http) log->warn("REGISTRY_BASIC_OVER_HTTP registry={}", ref_.registry);
    authorization_ =
        "Authorization: Basic " + encodeBase64(creds->username + ":" + creds->password);
    return Status::success();
  }
  if (c.scheme != "bearer" || !c.params.contains("realm"))
    return makeError("unauthorized",
                     fmt::format("{}: an authentication challenge Drover does not speak: {}",
                                 ref_.registry, header));
  const std::string& realm = c.params.at("realm");
  if (!realm.starts_with("https://") && !(options_.plain_http && realm.starts_with("http://")))
    return makeError("unauthorized",
                     fmt::format("{}: the token realm {} is not https (--plain-http allows http)",
                                 ref_.registry, realm));
  auto easy = makeEasy(options_);
  if (!easy) return easy.error();
  std::string scope =
      c.params.contains("scope") ? c.params.at("scope") : "repository:" + ref_.repository + ":pull";
  std::string u = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (c.params.contains("service"))
    u += "service=" + escape(easy->get(), c.params.at("service")) + "&";
  u += "scope=" + escape(easy->get(), scope);
  auto r = once(u, {"Accept: application/json"}, {}, 1 << 20,
                creds ? creds->username + ":" + creds->password : "");
  if (!r) return r.error();
  if (r->status != 200)
    return replyError(*r, fmt::format("the token service {} (as {})", realm,
                                      creds ? creds->username : std::string("anonymous")));
  auto doc = json::parse(r->body, nullptr, false);
  std::string token;
  if (doc.is_object()) {
    token = doc.value("token", std::string());
    if (token.empty()) token = doc.value("access_token", std::string());
  }
  if (token.empty())
    return makeError("unauthorized", fmt::format("the token service {} sent no token", realm));
  log->info("REGISTRY_TOKEN registry={} realm={} scope={}", ref_.registry, realm, scope);
  authorization_ = "Authorization: Bearer " + token;
  return Status::success();
}

}  // namespace drover::images::registry
