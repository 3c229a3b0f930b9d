#include "agent/api_client.hpp"

#include <algorithm>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/metrics.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxReply = 4 * 1024 * 1024;  // cloud-config and recipes are small
constexpr int kMaxDepth = 64;                       // replies are a few levels deep

// Replies refused for their content or their size, by reason (bad_reply, reply_too_large).
void countRefused(std::string_view reason) {
  metrics::Registry::global().counter("agent_api_refused_total",
                                      "Agent API replies refused as malformed or too large",
                                      fmt::format("reason=\"{}\"", reason))++;
}

Error badReply(std::string_view call, const std::string& what) {
  countRefused("bad_reply");
  return makeError("bad_reply", fmt::format("{}: {}", call, what));
}

// Deepest nesting of arrays and objects, strings skipped; stops counting past `limit`.
// Copies and dumps of a parsed value recurse, so a deep one is refused before parsing.
int nestingDepth(std::string_view body, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) break;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

Result<json> parseObject(std::string_view call, std::string_view body) {
  if (nestingDepth(body, kMaxDepth) > kMaxDepth) {
    return badReply(call, fmt::format("reply nests deeper than {} levels", kMaxDepth));
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return badReply(call, "reply is not JSON: " + log::sanitize(body, 80));
  if (!j.is_object()) return badReply(call, "reply is not a JSON object");
  return j;
}

// Reads a required string field; `out` receives it.
Status needString(std::string_view call, const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    return badReply(call, fmt::format("field \"{}\" missing or not a string", key));
  }
  out = it->get<std::string>();
  return {};
}

void optString(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it != j.end() && it->is_string()) out = it->get<std::string>();
}

Status needUint(std::string_view call, const json& j, const char* key, std::uint64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    if (it != j.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0) {
      out = it->get<std::uint64_t>();
      return {};
    }
    return badReply(call, fmt::format("field \"{}\" missing or not a non-negative integer", key));
  }
  out = it->get<std::uint64_t>();
  return {};
}

}  // namespace

Result<ExchangeReply> parseExchange(std::string_view body) {
  auto j = parseObject("exchange", body);
  if (!j) return j.error();
  ExchangeReply r;
  if (auto st = needString("exchange", *j, "node", r.node); !st) return st.error();
  if (auto st = needString("exchange", *j, "credential", r.credential); !st) return st.error();
  if (r.credential.empty()) return badReply("exchange", "empty credential");
  return r;
}

Result<RegisterReply> parseRegister(std::string_view body) {
  auto j = parseObject("register", body);
  if (!j) return j.error();
  RegisterReply r;
  if (auto st = needString("register", *j, "action", r.action); !st) return st.error();
  optString(*j, "node", r.node);
  optString(*j, "state", r.state);
  if (r.action != "install" && r.action != "wait" && r.action != "boot-local") {
    return badReply("register", "unknown action \"" + log::sanitize(r.action) + "\"");
  }
  return r;
}

Result<Plan> parsePlan(std::string_view body) {
  auto j = parseObject("plan", body);
  if (!j) return j.error();
  Plan p;
  auto img = j->find("image");
  if (img == j->end() || !img->is_object()) return badReply("plan", "field \"image\" missing");
  if (auto st = needString("plan.image", *img, "url", p.image.url); !st) return st.error();
  if (auto st = needString("plan.image", *img, "sha256", p.image.sha256); !st) return st.error();
  if (p.image.sha256.size() != 64) return badReply("plan.image", "sha256 is not 64 hex digits");
  optString(*img, "name", p.image.name);
  optString(*img, "version", p.image.version);
  optString(*img, "format", p.image.format);
  optString(*img, "signature", p.image.signature);
  optString(*img, "signature_key", p.image.signature_key);
  if (!p.image.signature.empty() && p.image.signature_key.empty())
    return badReply("plan.image", "a signature without signature_key");
  if (img->contains("size")) {
    if (auto st = needUint("plan.image", *img, "size", p.image.size); !st) return st.error();
  }
  if (auto st = needString("plan", *j, "disk", p.disk); !st) return st.error();
  if (j->contains("min_disk_bytes")) {
    if (auto st = needUint("plan", *j, "min_disk_bytes", p.min_disk_bytes); !st) return st.error();
  }
  return p;
}

Result<JoinRecipe> parseJoin(std::string_view body) {
  auto j = parseObject("join", body);
  if (!j) return j.error();
  JoinRecipe r;
  optString(*j, "runtime", r.runtime);
  optString(*j, "recipe", r.recipe);
  if (j->contains("steps")) {
    if (!(*j)["steps"].is_array()) return badReply("join", "field \"steps\" is not an array");
    r.steps = (*j)["steps"];
  }
  if (j->contains("env")) {
    const auto& env = (*j)["env"];
    if (!env.is_object()) return badReply("join", "field \"env\" is not an object");
    for (auto it = env.begin(); it != env.end(); ++it) {
      if (!it.value().is_string()) return badReply("join", "env." + it.key() + " is not a string");
      r.env[it.key()] = it.value().get<std::string>();
    }
  }
  return r;
}

Result<HeartbeatReply> parseHeartbeat(std::string_view body) {
  auto j = parseObject("heartbeat", body);
  if (!j) return j.error();
  HeartbeatReply r;
  optString(*j, "action", r.action);
  if (r.action.empty()) return r;
  if (r.action != "reinstall")
    return badReply("heartbeat", "unknown action \"" + log::sanitize(r.action, 40) + "\"");
  if (auto st = needString("heartbeat", *j, "id", r.id); !st) return st.error();
  if (auto st = needString("heartbeat", *j, "mac", r.mac); !st) return st.error();
  if (r.id.empty() || r.id.size() > 64)
    return badReply("heartbeat", "id must be 1 to 64 characters");
  return r;
}

ApiClient::ApiClient(ApiOptions opt) : opt_(std::move(opt)) {
  bases_.push_back(opt_.base);
  for (const auto& alt : opt_.alternates)
    if (std::find(bases_.begin(), bases_.end(), alt) == bases_.end()) bases_.push_back(alt);
}

Result<HttpReply> ApiClient::call(const std::string& method, const std::string& path,
                                  const std::string& body, int max_attempts) {
  auto log = log::get("agent");
  const int attempts = std::max(max_attempts > 0 ? max_attempts : opt_.max_attempts,
                                static_cast<int>(bases_.size()));
  curl::Options curl_options;
  curl_options.user_agent = "drover-agent";
  curl_options.connect_timeout_s = std::min(opt_.timeout_s, 15L);
  curl_options.timeout_s = opt_.timeout_s;
  curl_options.tls = opt_.tls;
  std::string last;
  for (int attempt = 1;; ++attempt) {
    const std::string url = bases_[current_] + path;
    HttpReply reply;
    auto easy = curl::Easy::create(curl_options);
    if (!easy) return easy.error();
    std::vector<std::string> headers = {"Accept: application/json, text/cloud-config"};
    if (!credential_.empty()) headers.push_back("Authorization: Bearer " + credential_);
    if (method == "POST") headers.push_back("Content-Type: application/json");
    easy->setUrl(url);
    easy->setHeaders(headers);
    easy->setRequest(method, body);
    easy->collectBody(&reply.body, kMaxReply);
    // A declared Content-Length over the cap fails before the body is read.
    curl_easy_setopt(easy->get(), CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxReply));
    const curl::Outcome o = easy->perform();
    reply.status = o.status;
    char* ct = nullptr;
    curl_easy_getinfo(easy->get(), CURLINFO_CONTENT_TYPE, &ct);
    if (ct) reply.content_type = ct;

    if (o.code == CURLE_WRITE_ERROR || o.code == CURLE_FILESIZE_EXCEEDED) {
      // Only the body collector refuses to write: the reply is over the cap. Not retried.
      countRefused("reply_too_large");
      return makeError("reply_too_large",
                       fmt::format("{} {}: reply larger than {} bytes", method, path, kMaxReply));
    }
    if (o.ok() && reply.status >= 200 && reply.status < 300) return reply;
    if (o.ok()) {
      // The server's error body, when it has one: {"error": "<code>", "message": "..."}.
      json j = nestingDepth(reply.body, kMaxDepth) > kMaxDepth
                   ? json(json::value_t::discarded)
                   : json::parse(reply.body, nullptr, false);
      std::string code = "http_status", msg;
      if (j.is_object()) {
        // The code names the error in logs and events: kept printable and short.
        if (j.contains("error") && j["error"].is_string())
          code = log::sanitize(j["error"].get<std::string>(), 64);
        if (j.contains("message") && j["message"].is_string())
          msg = j["message"].get<std::string>();
      }
      last = fmt::format("{} {}: HTTP {} {} {}", method, path, reply.status, code,
                         log::sanitize(msg, 200));
      if (!curl::isRetriable(o.code, reply.status)) return makeError(code, last);
      if (reply.status == 502 || reply.status == 503 || reply.status == 504) failOver(last);
    } else {
      const Error e = curl::transferError(o, method + " " + path);
      last = e.message;
      if (!curl::isRetriable(o.code, 0)) return e;
      failOver(last);
    }
    metrics::Registry::global().counter("agent_api_retries_total",
                                        "Agent API calls that failed and were retried")++;
    if (attempt >= attempts) {
      return makeError("retries_exhausted", fmt::format("{} (after {} attempts)", last, attempt));
    }
    const auto delay = curl::backoffDelay(attempt, opt_.backoff_initial, opt_.backoff_max);
    log->warn("AGENT_API_RETRY method={} path={} attempt={} delay_ms={} reason=\"{}\"", method,
              path, attempt, delay.count(), log::sanitize(last, 200));
    if (opt_.sleep) {
      opt_.sleep(delay);
    } else {
      std::this_thread::sleep_for(delay);
    }
  }
}

std::vector<std::string> ApiClient::urls() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < bases_.size(); ++i)
    out.push_back(bases_[(current_ + i) % bases_.size()]);
  return out;
}

void ApiClient::failOver(const std::string& reason) {
  if (bases_.size() < 2) return;
  const std::size_t from = current_;
  current_ = (current_ + 1) % bases_.size();
  metrics::Registry::global().counter("agent_api_failovers_total",
                                      "Agent API calls moved to another replica's URL")++;
  log::get("agent")->warn("AGENT_API_FAILOVER from={} to={} reason=\"{}\"", bases_[from],
                          bases_[current_], log::sanitize(reason, 200));
}

Result<ExchangeReply> ApiClient::exchange(const std::string& boot_token) {
  auto r = call("POST", "/v1/agent/exchange", json{{"token", boot_token}}.dump());
  if (!r) return r.error();
  auto x = parseExchange(r->body);
  if (x) credential_ = x->credential;
  return x;
}

Result<RegisterReply> ApiClient::registerNode(const json& facts) {
  auto r = call("POST", "/v1/agent/register", facts.dump());
  if (!r) return r.error();
  return parseRegister(r->body);
}

Result<Plan> ApiClient::plan() {
  auto r = call("GET", "/v1/agent/plan");
  if (!r) return r.error();
  return parsePlan(r->body);
}

Result<std::string> ApiClient::cloudConfig() {
  auto r = call("GET", "/v1/agent/cloud-config");
  if (!r) return r.error();
  if (r->body.rfind("#cloud-config", 0) != 0) {
    return badReply("cloud-config", "reply does not start with #cloud-config");
  }
  return r->body;
}

Result<JoinRecipe> ApiClient::join() {
  auto r = call("GET", "/v1/agent/join");
  if (!r) return r.error();
  return parseJoin(r->body);
}

Status ApiClient::event(std::string_view phase, std::string_view message,
                        std::optional<double> progress) {
  json body{{"phase", phase}, {"message", message}};
  if (progress) body["progress"] = *progress;
  auto r = call("POST", "/v1/agent/events", body.dump());
  if (!r) return r.error();
  return {};
}

Status ApiClient::eventFor(std::string_view id, std::string_view phase, std::string_view message) {
  auto r = call("POST", "/v1/agent/events",
                json{{"phase", phase}, {"message", message}, {"id", id}}.dump());
  if (!r) return r.error();
  return {};
}

Result<HeartbeatReply> ApiClient::heartbeat() {
  auto r = call("POST", "/v1/agent/heartbeat", "{}");
  if (!r) return r.error();
  // An older server answers {} or nothing at all.
  if (r->body.empty()) return HeartbeatReply{};
  return parseHeartbeat(r->body);
}

}  // namespace drover::agent
