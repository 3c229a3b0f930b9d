// Helpers for the `drover serve` integration tests: a declaration in a temp directory, an
// App on loopback port 0 run on its own thread, and a libcurl client that trusts the
// App's own CA.
#pragma once

#include "tests/support/cluster_yaml.hpp"
#include "tests/support/temp_dir.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/app.hpp"

namespace drover::server::testing {

// Temp directories named drover-serve-XXXXXX.
using ::drover::test::TempDir;
using ::drover::test::writeFile;

inline constexpr const char* kMac1 = "52:54:00:12:34:56";  // node-1, profile server
inline constexpr const char* kMac2 = "52:54:00:12:34:57";  // node-2, profile server
inline constexpr const char* kUnknownMac = "52:54:00:aa:bb:cc";

// The declaration the tests serve (tests/support/cluster_yaml.hpp): two nodes with an
// install profile, a boot environment and a disk image under `dir`/images, every listener
// on 127.0.0.1 port 0. `unknown` is defaults.unknown; `extra_nodes` is appended to the
// nodes list.
inline std::string clusterYaml(const std::filesystem::path& /*dir*/, std::string_view unknown = "discover",
                               std::string_view extra_nodes = "", std::string_view api_listen = "127.0.0.1:0") {
  ::drover::test::ClusterYaml y;
  y.unknown = unknown;
  y.nodes += extra_nodes;
  y.api_listen = api_listen;
  return y.str();
}

inline constexpr std::string_view kKernelBytes = "KERNEL-0123456789abcdef";

// Lays out a working directory: images, a cloud-config template, a TFTP root, and the
// declaration (cluster.yaml).
inline std::filesystem::path makeSite(const std::filesystem::path& dir, std::string_view unknown = "discover") {
  ::drover::test::writeSiteFiles(dir, kKernelBytes);
  writeFile(dir / "cluster.yaml", clusterYaml(dir, unknown));
  return dir / "cluster.yaml";
}

// An App created, started and run on its own thread; stopped and joined on destruction.
class RunningApp {
 public:
  explicit RunningApp(const std::filesystem::path& config, const std::filesystem::path& state_dir = {}) {
    Options o;
    o.config_path = config.string();
    o.state_dir = state_dir.string();
    o.dhcp = false;
    auto app = App::create(o);
    if (!app) {
      ADD_FAILURE() << "create: " << app.error().message;
      return;
    }
    app_ = std::move(*app);
    if (auto st = app_->start(); !st) {
      ADD_FAILURE() << "start: " << st.error().message;
      app_.reset();
      return;
    }
    thread_ = std::thread([this] { app_->run(); });
  }
  ~RunningApp() { stop(); }
  void stop() {
    if (!app_) return;
    app_->stop();
    if (thread_.joinable()) thread_.join();
    app_.reset();
  }
  bool ok() const { return app_ != nullptr; }
  App& app() { return *app_; }
  std::string http() const { return "http://" + app_->endpointForTest("http"); }
  std::string api() const { return "https://" + app_->endpointForTest("api"); }
  std::filesystem::path caFile() const { return app_->stateDir() / "tls/ca.crt"; }
  std::string operatorToken() const {
    std::ifstream in(app_->stateDir() / "operator.token");
    std::string t;
    in >> t;
    return t;
  }

 private:
  std::unique_ptr<App> app_;
  std::thread thread_;
};

struct Reply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;                            // libcurl's, when the transfer failed

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Call {
  std::string method = "GET";
  std::string url{};
  std::vector<std::string> headers{};
  std::optional<std::string> body{};
  std::filesystem::path ca{};  // trust this CA (https)
  bool path_as_is = false;     // send ../ and friends unchanged
  std::string source{};        // local address to connect from (any 127.x.y.z)
};

inline Reply perform(const Call& c) {
  Reply r;
  CURL* h = curl_easy_init();
  curl_slist* hdrs = nullptr;
  for (const auto& line : c.headers) hdrs = curl_slist_append(hdrs, line.c_str());
  curl_easy_setopt(h, CURLOPT_URL, c.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);  // safety only
  if (!c.ca.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, c.ca.c_str());
  if (c.path_as_is) curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  const std::string iface = "host!" + c.source;
  if (!c.source.empty()) curl_easy_setopt(h, CURLOPT_INTERFACE, iface.c_str());
  if (c.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (c.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c.method.c_str());
  }
  if (c.body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c.body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body->size()));
  }
  auto onBody = +[](char* p, size_t s, size_t n, void* u) {
    static_cast<std::string*>(u)->append(p, s * n);
    return s * n;
  };
  auto onHeader = +[](char* p, size_t s, size_t n, void* u) {
    std::string line(p, s * n);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      (*static_cast<std::map<std::string, std::string>*>(u))[name] = value;
    }
    return s * n;
  };
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) r.error = curl_easy_strerror(rc);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return r;
}

// One request with exactly these bytes as the target (no client-side normalising); the
// status code and the whole raw reply.
inline std::pair<int, std::string> rawRequest(const std::string& host_port, const std::string& method,
                                              const std::string& target) {
  auto colon = host_port.rfind(':');
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1))));
  ::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &a.sin_addr);
  timeval tv{60, 0};  // safety only
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  int status = 0;
  if (reply.rfind("HTTP/1.1 ", 0) == 0 && reply.size() >= 12) status = std::stoi(reply.substr(9, 3));
  return {status, reply};
}

// A test with a site and a running App, plus shorthands for the boot and API calls.
class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start(std::string_view unknown = "discover") {
    config_ = makeSite(dir_.path(), unknown);
    app_ = std::make_unique<RunningApp>(config_);
    ASSERT_TRUE(app_->ok());
  }

  Reply get(const std::string& path, std::vector<std::string> headers = {}) {
    return perform({.url = app_->http() + path, .headers = std::move(headers)});
  }
  // The node script for a MAC (as iPXE asks after the entry script).
  std::string script(const std::string& mac, std::string_view platform = "pcbios") {
    auto r = get("/boot.ipxe?mac=" + mac + "&uuid=&arch=x86_64&platform=" + std::string(platform));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  Reply apiCall(const std::string& method, const std::string& path, const std::string& bearer,
                std::optional<std::string> body = std::nullopt) {
    Call c{.method = method, .url = app_->api() + path, .body = std::move(body), .ca = app_->caFile()};
    if (!bearer.empty()) c.headers.push_back("Authorization: Bearer " + bearer);
    if (c.body) c.headers.push_back("Content-Type: application/json");
    return perform(c);
  }
  Reply op(const std::string& method, const std::string& path) {
    return apiCall(method, path, app_->operatorToken(), method == "POST" ? std::optional<std::string>("{}") : std::nullopt);
  }

  // The drover.token= of an install/discover script.
  static std::string tokenOf(const std::string& script) {
    std::smatch m;
    if (!std::regex_search(script, m, std::regex("drover\\.token=([A-Za-z0-9_-]+)"))) return {};
    return m[1];
  }
  // Exchanges the boot token of a fresh install script for `mac`; the node credential.
  std::string credentialFor(const std::string& mac) {
    auto token = tokenOf(script(mac));
    EXPECT_FALSE(token.empty());
    auto r = apiCall("POST", "/v1/agent/exchange", "", nlohmann::json{{"token", token}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().value("credential", "");
  }
  Reply event(const std::string& credential, const std::string& phase, const std::string& message = "") {
    return apiCall("POST", "/v1/agent/events", credential, nlohmann::json{{"phase", phase}, {"message", message}}.dump());
  }
  Reply registerNode(const std::string& credential, const std::string& mac) {
    return apiCall("POST", "/v1/agent/register", credential,
                   nlohmann::json{{"mac", mac}, {"cpu", {{"count", 2}}}, {"memory_bytes", 1 << 30}}.dump());
  }
  // The whole install as an agent reports it; returns the credential.
  std::string install(const std::string& mac) {
    auto cred = credentialFor(mac);
    EXPECT_EQ(registerNode(cred, mac).json().value("action", ""), "install");
    EXPECT_EQ(event(cred, "image_written").status, 200);
    EXPECT_EQ(event(cred, "installed").status, 200);
    return cred;
  }

  TempDir dir_;
  std::filesystem::path config_;
  std::unique_ptr<RunningApp> app_;
};

}  // namespace drover::server::testing
