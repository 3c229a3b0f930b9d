// The dashboard on a running drover serve: its files, login with the operator token, the
// session cookie and its CSRF token on the operator API, logout, and the data endpoints.
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

class UiTest : public ServeTest {
 protected:
  struct Login {
    std::string cookie;  // "drover_session=..."
    std::string csrf;
    std::string set_cookie;
  };

  Reply call(const std::string& method, const std::string& path, std::vector<std::string> headers,
             std::optional<std::string> body = std::nullopt) {
    Call c{.method = method,
           .url = app_->api() + path,
           .headers = std::move(headers),
           .body = std::move(body),
           .ca = app_->caFile()};
    if (c.body) c.headers.push_back("Content-Type: application/json");
    return perform(c);
  }

  Login login() {
    auto r = call("POST", "/ui/login", {}, nlohmann::json{{"token", app_->operatorToken()}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    Login l;
    l.set_cookie = r.header("set-cookie");
    l.cookie = l.set_cookie.substr(0, l.set_cookie.find(';'));
    l.csrf = r.json().value("csrf", "");
    return l;
  }
};

TEST_F(UiTest, ThePageAndItsFilesAreServedOnTheApiListener) {
  auto root = call("GET", "/", {});
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.header("location"), "/ui/");
  auto page = call("GET", "/ui/", {});
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("/ui/app.js"), std::string::npos);
  EXPECT_NE(page.header("content-security-policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  for (const char* f : {"app.js", "api.js", "dom.js", "nodes.js", "node.js", "overview.js",
                        "images.js", "style.css"})
    EXPECT_EQ(call("GET", std::string("/ui/") + f, {}).status, 200) << f;
  EXPECT_EQ(call("GET", "/ui/missing.js", {}).status, 404);
}

TEST_F(UiTest, LoginNeedsTheOperatorTokenAndSetsAStrictSessionCookie) {
  EXPECT_EQ(call("POST", "/ui/login", {}, R"({"token":"wrong"})").status, 401);
  EXPECT_EQ(call("POST", "/ui/login", {}, "{}").status, 401);
  auto l = login();
  EXPECT_TRUE(l.cookie.starts_with("drover_session=")) << l.set_cookie;
  for (const char* attr : {"; HttpOnly", "; Secure", "; SameSite=Strict", "; Max-Age=", "; Path=/"})
    EXPECT_NE(l.set_cookie.find(attr), std::string::npos) << attr << " in " << l.set_cookie;
  EXPECT_EQ(l.csrf.size(), 43u);
  auto s = call("GET", "/ui/session", {"Cookie: " + l.cookie});
  EXPECT_EQ(s.json().value("csrf", ""), l.csrf);
  EXPECT_EQ(call("GET", "/ui/session", {}).json().value("csrf", "x"), "");
}

TEST_F(UiTest, TheSessionOpensOperatorCallsAndStateChangesNeedItsCsrfToken) {
  auto l = login();
  EXPECT_EQ(call("GET", "/v1/nodes", {"Cookie: " + l.cookie}).status, 200);
  EXPECT_EQ(call("GET", "/v1/nodes", {"Cookie: drover_session=forged"}).status, 401);
  auto no_csrf = call("POST", "/v1/nodes/node-1/reinstall", {"Cookie: " + l.cookie}, "{}");
  EXPECT_EQ(no_csrf.status, 403);
  EXPECT_EQ(no_csrf.json().value("error", ""), "csrf_missing");
  auto bad_csrf = call("POST", "/v1/nodes/node-1/reinstall",
                       {"Cookie: " + l.cookie, "X-CSRF-Token: nope"}, "{}");
  EXPECT_EQ(bad_csrf.status, 403);
  EXPECT_EQ(bad_csrf.json().value("error", ""), "csrf_mismatch");
  EXPECT_EQ(call("POST", "/v1/nodes/node-1/reinstall",
                 {"Cookie: " + l.cookie, "X-CSRF-Token: " + l.csrf}, "{}")
                .status,
            200);
  // A CSRF token alone (no cookie) opens nothing.
  EXPECT_EQ(call("POST", "/v1/nodes/node-1/reinstall", {"X-CSRF-Token: " + l.csrf}, "{}").status,
            401);
}

TEST_F(UiTest, TheBearerTokenApiIsUnchanged) {
  EXPECT_EQ(op("GET", "/v1/nodes").status, 200);
  EXPECT_EQ(op("POST", "/v1/nodes/node-1/reinstall").status, 200);  // no CSRF token needed
  EXPECT_EQ(op("GET", "/v1/ui/overview").status, 200);
  EXPECT_EQ(call("GET", "/v1/ui/overview", {}).status, 401);
}

TEST_F(UiTest, LogoutEndsTheSession) {
  auto l = login();
  EXPECT_EQ(call("POST", "/ui/logout", {"Cookie: " + l.cookie}, "{}").status, 403);  // CSRF first
  auto out = call("POST", "/ui/logout", {"Cookie: " + l.cookie, "X-CSRF-Token: " + l.csrf}, "{}");
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(out.header("set-cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call("GET", "/v1/nodes", {"Cookie: " + l.cookie}).status, 401);
}

TEST_F(UiTest, OverviewCountsNodesByStateAndListsBootsAndFailures) {
  auto cred = credentialFor(kMac1);
  ASSERT_EQ(registerNode(cred, kMac1).status, 200);
  ASSERT_EQ(event(cred, "image_progress", "42%").status, 200);
  auto cred2 = install(kMac2);
  ASSERT_EQ(event(cred2, "failed", "disk /dev/vda too small").status, 200);
  auto o = op("GET", "/v1/ui/overview").json();
  EXPECT_EQ(o["total"], 2);
  EXPECT_EQ(o["by_state"].value("installing", 0), 1);
  EXPECT_EQ(o["by_state"].value("failed", 0), 1);
  ASSERT_EQ(o["booting"].size(), 1u);
  EXPECT_EQ(o["booting"][0]["name"], "node-1");
  EXPECT_EQ(o["booting"][0]["phase"], "image_progress");
  ASSERT_EQ(o["failures"].size(), 1u);
  EXPECT_EQ(o["failures"][0]["reason"], "disk /dev/vda too small");
  EXPECT_EQ(o["completed_per_hour"].size(), 24u);
  EXPECT_TRUE(o["counters"].is_object());
  bool http_counter = false;
  for (const auto& [k, v] : o["counters"].items()) http_counter |= k.starts_with("drover_http_");
  EXPECT_TRUE(http_counter) << o["counters"].dump();
}

TEST_F(UiTest, NodesCarryLabelsNetworkAndDiscoveredFacts) {
  auto token = tokenOf(script(kUnknownMac));
  auto ex = apiCall("POST", "/v1/agent/exchange", "", nlohmann::json{{"token", token}}.dump());
  ASSERT_EQ(ex.status, 200) << ex.body;
  const auto cred = ex.json().value("credential", "");
  ASSERT_EQ(apiCall("POST", "/v1/agent/register", cred,
                    nlohmann::json{{"mac", kUnknownMac},
                                   {"arch", "bios"},
                                   {"cpu", {{"model", "Xeon"}, {"count", 8}}},
                                   {"memory_bytes", 1 << 30},
                                   {"disks", {{{"name", "vda"}, {"size_bytes", 4096}}}}}
                        .dump())
                .status,
            200);
  auto rows = op("GET", "/v1/ui/nodes").json();
  ASSERT_EQ(rows.size(), 3u) << rows.dump();
  EXPECT_EQ(rows[0]["network"], "lan");
  EXPECT_TRUE(rows[0]["labels"].is_object());
  EXPECT_EQ(rows[2]["declared"], false);
  EXPECT_EQ(rows[2]["facts"]["cpus"], 8);
  EXPECT_EQ(rows[2]["facts"]["cpu"], "Xeon");
  EXPECT_EQ(rows[2]["facts"]["disk_bytes"], 4096);
}

TEST_F(UiTest, PreviewShowsTheScriptWithoutIssuingATokenAndTheCloudConfig) {
  auto p = op("GET", "/v1/ui/nodes/node-1/preview").json();
  EXPECT_EQ(p["script_kind"], "install");
  const auto text = p["script"].get<std::string>();
  EXPECT_NE(text.find("#!ipxe"), std::string::npos);
  EXPECT_NE(text.find("<boot token, issued when served>"), std::string::npos) << text;
  EXPECT_NE(p["cloud_config"].get<std::string>().find("hostname: node-1"), std::string::npos);
  EXPECT_EQ(op("GET", "/v1/ui/nodes/nope/preview").status, 404);
  install(kMac1);
  EXPECT_EQ(op("GET", "/v1/ui/nodes/node-1/preview").json()["script_kind"], "local");
}

TEST_F(UiTest, ImagesListsDeclaredArtifacts) {
  auto j = op("GET", "/v1/ui/images").json();
  ASSERT_TRUE(j["images"].is_array());
  bool disk = false;
  for (const auto& r : j["images"])
    if (r["image"] == "os" && r["kind"] == "disk") {
      disk = true;
      EXPECT_EQ(r["source"], "local");
      EXPECT_EQ(r["size"], 4096);
      EXPECT_EQ(r["sha256"], std::string(64, 'a'));
    }
  EXPECT_TRUE(disk) << j.dump();
  EXPECT_EQ(j["checks"], nlohmann::json::array());  // no url file, no update checks
}

}  // namespace
}  // namespace drover::server::testing

namespace drover::server::testing {
namespace {

// Reads the event stream on `url` until `want` has appeared `times` times (or 20 s, a
// safety bound only); returns what arrived.
std::string readStream(const std::string& url, const std::vector<std::string>& headers,
                       const std::filesystem::path& ca, const std::function<void()>& after_connect,
                       const std::string& want, int times, long* status) {
  struct State {
    std::string text;
    std::string want;
    int times = 0;
    bool connected = false;
    std::function<void()> after_connect;
  } st{
      .text = {}, .want = want, .times = times, .connected = false, .after_connect = after_connect};
  CURL* h = curl_easy_init();
  curl_slist* hdrs = nullptr;
  for (const auto& line : headers) hdrs = curl_slist_append(hdrs, line.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
  using Write = size_t (*)(char*, size_t, size_t, void*);
  Write write = [](char* p, size_t size, size_t n, void* ud) -> size_t {
    auto& s = *static_cast<State*>(ud);
    s.text.append(p, size * n);
    if (!s.connected && s.text.find("event: hello") != std::string::npos) {
      s.connected = true;
      if (s.after_connect) s.after_connect();
    }
    int seen = 0;
    for (auto at = s.text.find(s.want); at != std::string::npos; at = s.text.find(s.want, at + 1))
      ++seen;
    return seen >= s.times ? 0 : size * n;  // 0 ends the transfer
  };
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);
  curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return st.text;
}

TEST_F(UiTest, TheEventStreamPushesANodesEventsInCoalescedMessages) {
  long status = 0;
  readStream(app_->api() + "/v1/ui/events", {}, app_->caFile(), {}, "event:", 1, &status);
  EXPECT_EQ(status, 401);
  auto l = login();
  auto cred = credentialFor(kMac1);
  ASSERT_EQ(registerNode(cred, kMac1).status, 200);
  constexpr int kEvents = 40;
  const auto text = readStream(
      app_->api() + "/v1/ui/events", {"Cookie: " + l.cookie}, app_->caFile(),
      [&] {
        for (int i = 0; i < kEvents; ++i) event(cred, "image_progress", std::to_string(i) + "%");
      },
      "\"" + std::to_string(kEvents - 1) + "%\"", 1, &status);
  EXPECT_EQ(status, 200);
  std::size_t messages = 0;
  int entries = 0;
  bool more = false;  // a message kept only a node's newest entries: the page reloads the rest
  for (auto at = text.find("event: nodes\ndata: "); at != std::string::npos;
       at = text.find("event: nodes\ndata: ", at + 1)) {
    ++messages;
    const auto start = at + 19;
    auto b =
        nlohmann::json::parse(text.substr(start, text.find('\n', start) - start), nullptr, false);
    ASSERT_TRUE(b.is_object()) << text;
    for (const auto& n : b["nodes"]) {
      EXPECT_EQ(n["name"], "node-1");
      entries += static_cast<int>(n["events"].size());
      more = more || n.value("more", false);
    }
  }
  std::printf("%d events arrived in %zu pushed messages (%d entries, more=%d)\n", kEvents, messages, entries,
              more);
  if (more) {
    EXPECT_LT(entries, kEvents) << text;
  } else {
    EXPECT_EQ(entries, kEvents) << text;
  }
  EXPECT_GE(messages, 1u);
}

}  // namespace
}  // namespace drover::server::testing
