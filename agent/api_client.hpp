// Client of the agent half of Drover's API (docs/api.md), over libcurl with TLS pinned to
// the CA fingerprint from the kernel command line. Replies are parsed into plain structs;
// malformed replies are errors (`bad_reply`) naming the call and the field.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/curl/easy.hpp"
#include "common/result.hpp"

namespace drover::agent {

struct ExchangeReply {
  std::string node;
  std::string credential;
};

struct RegisterReply {
  std::string node;
  std::string state;
  std::string action;  // install | wait | boot-local
};

struct ImageRef {
  std::string name, version, url, sha256, format;
  std::string signature;      // detached signature over the image as served (base64); empty: none
  std::string signature_key;  // the PEM public key it must verify with
  std::uint64_t size = 0;
};

struct Plan {
  ImageRef image;
  std::string disk;
  std::uint64_t min_disk_bytes = 0;
};

// The heartbeat's answer: empty, or a request of the server's.
//   {"action": "reinstall", "id": "...", "mac": "52:54:00:12:34:56"}: reboot into the
//   network once through that NIC (agent/net_reboot.hpp)
struct HeartbeatReply {
  std::string action{};  // "" | "reinstall"
  std::string id{};
  std::string mac{};
};

struct JoinRecipe {
  std::string runtime;
  std::string recipe;
  nlohmann::json steps = nlohmann::json::array();
  std::map<std::string, std::string> env;
};

// Pure parsers of the reply bodies (exposed for tests).
Result<ExchangeReply> parseExchange(std::string_view body);
Result<RegisterReply> parseRegister(std::string_view body);
Result<Plan> parsePlan(std::string_view body);
Result<JoinRecipe> parseJoin(std::string_view body);
Result<HeartbeatReply> parseHeartbeat(std::string_view body);

struct ApiOptions {
  std::string base;            // https://192.0.2.1:8443
  // Other replicas' API URLs. A call that cannot reach the current one (connection failure,
  // 502/503/504) tries the next on its following attempt, and the client stays with the one
  // that answered; every call gets at least one attempt per URL.
  std::vector<std::string> alternates{};
  curl::Tls tls;               // drover.ca pin (ca_fingerprint)
  int max_attempts = 5;        // per call, for connection failures and 5xx
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{15000};
  long timeout_s = 30;
  std::function<void(std::chrono::milliseconds)> sleep;  // default: this_thread::sleep_for
};

struct HttpReply {
  long status = 0;
  std::string body;
  std::string content_type;
};

class ApiClient {
 public:
  explicit ApiClient(ApiOptions opt);

  // Trades the single-use boot token for the node credential (kept for later calls).
  Result<ExchangeReply> exchange(const std::string& boot_token);
  Result<RegisterReply> registerNode(const nlohmann::json& facts);
  Result<Plan> plan();
  Result<std::string> cloudConfig();
  Result<JoinRecipe> join();
  Status event(std::string_view phase, std::string_view message,
               std::optional<double> progress = std::nullopt);
  // An event that answers a request of the server's: carries its id.
  Status eventFor(std::string_view id, std::string_view phase, std::string_view message);
  Result<HeartbeatReply> heartbeat();

  void setCredential(std::string c) { credential_ = std::move(c); }
  const std::string& credential() const { return credential_; }
  const ApiOptions& options() const { return opt_; }
  // The API URLs, the one in use first, then the others in the order they are tried.
  std::vector<std::string> urls() const;

  // One call with retries: error codes are the server's `error` field for 4xx/5xx
  // replies, else http_status, transfer, retries_exhausted.
  Result<HttpReply> call(const std::string& method, const std::string& path,
                         const std::string& body = "", int max_attempts = 0);

 private:
  void failOver(const std::string& reason);  // moves to the next URL, if there is one

  ApiOptions opt_;
  std::vector<std::string> bases_;  // base, then the alternates
  std::size_t current_ = 0;         // index into bases_ of the URL in use
  std::string credential_;
};

}  // namespace drover::agent
