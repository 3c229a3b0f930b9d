#include "cli/api_client.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cluster/loader.hpp"
#include "common/curl/easy.hpp"

namespace drover::cli {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxReply = 16 * 1024 * 1024;  // node lists and timelines

std::string readTrimmed(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
  return s;
}

// The API's certificate names the advertise address and 127.0.0.1; on the server itself a
// wildcard listener is reached on loopback.
std::string apiBaseOf(const cluster::Config& config) {
  const auto& api = config.server.api;
  std::string host = api.listen.host;
  if (host.empty() || host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return fmt::format("{}://{}:{}", api.tls == cluster::TlsMode::Off ? "http" : "https", host,
                     api.listen.port);
}

}  // namespace

Result<ApiClient> ApiClient::connect(const ApiTarget& t) {
  ApiClient c;
  std::filesystem::path state_dir = t.state_dir;
  c.base_ = t.api;
  if (!t.config.empty()) {
    auto loaded = cluster::loadConfigFile(t.config);
    if (!loaded.ok()) {
      std::string all = t.config + " is not a valid declaration:";
      for (const auto& e : loaded.errors) all += "\n  " + e.str();
      return makeError("config", all);
    }
    if (state_dir.empty())
      state_dir = std::filesystem::path(loaded.config->server.state.path).parent_path();
    if (c.base_.empty()) c.base_ = apiBaseOf(*loaded.config);
  }
  if (c.base_.empty())
    return makeError("usage", "say where the API is: --config FILE or --api URL");
  while (c.base_.ends_with('/')) c.base_.pop_back();

  c.ca_ = t.ca;
  if (c.ca_.empty() && !state_dir.empty() && std::filesystem::exists(state_dir / "tls/ca.crt")) {
    c.ca_ = (state_dir / "tls/ca.crt").string();
  }
  if (!t.token.empty()) {
    c.token_ = t.token;
    c.token_source_ = "--token";
  } else if (const char* env = std::getenv("DROVER_TOKEN"); env && *env) {
    c.token_ = env;
    c.token_source_ = "DROVER_TOKEN";
  } else if (!state_dir.empty()) {
    c.token_ = readTrimmed(state_dir / "operator.token");
    c.token_source_ = (state_dir / "operator.token").string();
    if (c.token_.empty()) {
      return makeError(
          "token", fmt::format("no operator token: {} is missing or unreadable (run as the user "
                               "drover serve runs as, or set DROVER_TOKEN)",
                               c.token_source_));
    }
  } else {
    return makeError("token",
                     "no operator token: give --state-dir DIR, --config FILE or set DROVER_TOKEN");
  }
  return c;
}

Result<std::string> ApiClient::call(const std::string& method, const std::string& path,
                                    const std::string& body) {
  curl::Options o;
  o.user_agent = "drover";
  o.connect_timeout_s = 10;
  o.timeout_s = 60;
  o.tls.ca_file = ca_;
  auto easy = curl::Easy::create(std::move(o));
  if (!easy) return easy.error();
  std::vector<std::string> headers = {"Authorization: Bearer " + token_,
                                      "Accept: application/json"};
  if (!body.empty()) headers.push_back("Content-Type: application/json");
  std::string reply;
  easy->setUrl(base_ + path);
  easy->setHeaders(headers);
  easy->setRequest(method, body);
  easy->collectBody(&reply, kMaxReply);
  const curl::Outcome r = easy->perform();
  if (!r.ok()) {
    std::string hint;
    if (r.code == CURLE_COULDNT_CONNECT || r.code == CURLE_OPERATION_TIMEDOUT)
      hint = " (is drover serve running, and listening there?)";
    if (curl::isTlsFailure(r.code))
      hint = fmt::format(" (the server's certificate does not match the CA {})",
                         ca_.empty() ? "store" : ca_);
    return makeError("unreachable",
                     fmt::format("cannot reach the API at {}: {}{}", base_, r.error, hint));
  }
  if (r.status == 401) {
    return makeError("unauthorized", fmt::format("the API at {} refused the operator token from {}",
                                                 base_, token_source_));
  }
  if (r.status == 429) {
    return makeError("throttled",
                     "the API is refusing this address after repeated failed logins; wait 10 s");
  }
  if (r.status >= 400) {
    auto j = json::parse(reply, nullptr, false);
    std::string msg =
        j.is_object() ? j.value("message", j.value("error", "")) : reply.substr(0, 200);
    return makeError(r.status == 404 ? "not_found" : "api_error",
                     fmt::format("{} {}: {}", r.status, path, msg));
  }
  return reply;
}

Result<json> ApiClient::getJson(const std::string& path) {
  auto r = call("GET", path);
  if (!r) return r.error();
  auto j = json::parse(*r, nullptr, false);
  if (j.is_discarded())
    return makeError("bad_reply", "the API sent a reply that is not JSON: " + path);
  return j;
}

std::string pathSegment(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

int exitCodeFor(const Error& e) {
  return e.code == "unreachable" ? 2 : 1;
}

}  // namespace drover::cli
