// Boot tokens against a running drover serve: script requests write nothing to the
// database however many there are, forged tokens are refused, a restart keeps the key,
// and server.boot.allowed_subnets refuses scripts and exchanges for other addresses (each
// refusal counted, and noted on the timeline once).
#include <sqlite3.h>

#include <chrono>

#include "common/metrics.hpp"
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::testing::HasSubstr;

// Rows of `table` in the served database, read through a connection of its own.
long long rows(const std::filesystem::path& db, const std::string& table) {
  sqlite3* h = nullptr;
  long long n = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(h, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &s, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  sqlite3_close(h);
  return n;
}

std::int64_t refusals(std::string_view reason) {
  return metrics::Registry::global().valueForTest("boot_token_refusals_total",
                                                  "reason=\"" + std::string(reason) + "\"");
}

class BootTokenTest : public ServeTest {
 protected:
  std::filesystem::path db() const { return dir_.path() / "state/state.db"; }
  Reply exchange(const std::string& token, const std::string& source = "") {
    return perform({.method = "POST",
                    .url = app_->api() + "/v1/agent/exchange",
                    .headers = {"Content-Type: application/json"},
                    .body = nlohmann::json{{"token", token}}.dump(),
                    .ca = app_->caFile(),
                    .source = source});
  }
  std::vector<std::string> phases(const std::string& node) {
    std::vector<std::string> out;
    for (const auto& e : op("GET", "/v1/nodes/" + node + "/events").json())
      out.push_back(e.value("phase", ""));
    return out;
  }
};

TEST_F(BootTokenTest, ManyScriptRequestsLeaveTheDatabaseAsOneDoes) {
  ASSERT_FALSE(tokenOf(script(kMac1)).empty());
  const auto tokens = rows(db(), "tokens"), timeline = rows(db(), "timeline");
  EXPECT_EQ(tokens, 0);
  EXPECT_EQ(timeline, 1);  // one script_served
  constexpr int kRequests = 300;
  const auto start = std::chrono::steady_clock::now();
  std::set<std::string> seen;
  for (int i = 0; i < kRequests; ++i) {
    // Platforms alternate: still the same script, so still the same boot attempt.
    const auto s = script(kMac1, i % 2 == 0 ? "efi" : "pcbios");
    seen.insert(tokenOf(s));
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::printf("[ info ] %d script requests in %lld ms\n", kRequests,
              static_cast<long long>(ms.count()));
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRequests));  // every token its own
  // Machines that match no node, each asking once: no rows either.
  for (int i = 0; i < 50; ++i) {
    char mac[32];
    std::snprintf(mac, sizeof mac, "52:54:00:ee:00:%02x", i);
    EXPECT_FALSE(tokenOf(script(mac)).empty());
  }
  EXPECT_EQ(rows(db(), "tokens"), tokens);
  EXPECT_EQ(rows(db(), "timeline"), timeline);

  // A real boot step (the exchange) starts a new run: the next script is recorded again.
  auto r = exchange(*seen.begin());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(rows(db(), "tokens"), 1);  // the spent one
  script(kMac1);
  script(kMac1);
  const auto p = phases("node-1");
  EXPECT_EQ(std::count(p.begin(), p.end(), "script_served"), 2) << ::testing::PrintToString(p);
}

TEST_F(BootTokenTest, ForgedAndReplayedTokensAreRefusedAndCounted) {
  const auto token = tokenOf(script(kMac1));
  ASSERT_FALSE(token.empty());
  // One changed character in the middle (the claims): the HMAC no longer matches.
  std::string forged = token;
  forged[token.size() / 2] = forged[token.size() / 2] == 'A' ? 'B' : 'A';
  const auto forged_before = refusals("forged");
  auto r = exchange(forged);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json().value("error", ""), "invalid_token");
  EXPECT_EQ(refusals("forged"), forged_before + 1);
  EXPECT_EQ(rows(db(), "tokens"), 0);  // a refused token spends nothing
  // The real one still works, once.
  EXPECT_EQ(exchange(token).status, 200);
  const auto replayed_before = refusals("replayed");
  r = exchange(token);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json().value("error", ""), "invalid_token");
  EXPECT_EQ(refusals("replayed"), replayed_before + 1);
  EXPECT_THAT(phases("node-1"), ::testing::Contains("boot_refused"));
  // The metric is served.
  EXPECT_THAT(get("/metrics").body,
              HasSubstr("drover_boot_token_refusals_total{reason=\"replayed\"}"));
}

TEST_F(BootTokenTest, ATokenIssuedBeforeARestartIsAcceptedAfterIt) {
  const auto token = tokenOf(script(kMac2));
  app_->stop();
  app_ = std::make_unique<RunningApp>(config_);
  ASSERT_TRUE(app_->ok());
  auto r = exchange(token);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().value("node", ""), "node-2");
}

class AllowedSubnetsTest : public BootTokenTest {
 protected:
  void SetUp() override {
    ::drover::test::writeSiteFiles(dir_.path(), kKernelBytes);
    ::drover::test::ClusterYaml y;
    y.boot = "{ allowed_subnets: [127.0.0.2/32] }";
    config_ = dir_.path() / "cluster.yaml";
    writeFile(config_, y.str());
    app_ = std::make_unique<RunningApp>(config_);
    ASSERT_TRUE(app_->ok());
  }
  Reply scriptFrom(const std::string& source, const std::string& mac) {
    return perform({.url = app_->http() + "/boot.ipxe?mac=" + mac + "&arch=x86_64&platform=pcbios",
                    .source = source});
  }
};

TEST_F(AllowedSubnetsTest, ScriptsAndExchangesOnlyForAllowedAddresses) {
  const auto refused_before = refusals("subnet_not_allowed");
  // Outside the list: a refusal script, no token; as often as asked, one timeline entry.
  for (int i = 0; i < 20; ++i) {
    auto r = scriptFrom("127.0.0.1", kMac1);
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(tokenOf(r.body).empty());
    EXPECT_THAT(r.body, HasSubstr("may not boot"));
  }
  EXPECT_EQ(refusals("subnet_not_allowed"), refused_before + 20);
  auto p = phases("node-1");
  EXPECT_EQ(std::count(p.begin(), p.end(), "boot_refused"), 1) << ::testing::PrintToString(p);
  // Inside: the script and its token; exchanged from outside: refused, and not spent.
  const auto token = tokenOf(scriptFrom("127.0.0.2", kMac1).body);
  ASSERT_FALSE(token.empty());
  auto r = exchange(token, "127.0.0.1");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json().value("error", ""), "wrong_source");
  r = exchange(token, "127.0.0.2");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().value("node", ""), "node-1");
}

TEST(AllowedSubnetsConfig, BadValuesAreRefusedWithTheirPlace) {
  TempDir dir;
  ::drover::test::writeSiteFiles(dir.path(), kKernelBytes);
  for (const char* bad : {"{ allowed_subnets: [] }", "{ allowed_subnets: [192.0.2.5/24] }",
                          "{ allowed_subnets: nonsense }", "{ allowed_subnets: [192.0.2.0/33] }"}) {
    ::drover::test::ClusterYaml y;
    y.boot = bad;
    writeFile(dir.path() / "cluster.yaml", y.str());
    auto loaded = loadSnapshot((dir.path() / "cluster.yaml").string());
    ASSERT_FALSE(loaded.snapshot) << bad;
    ASSERT_FALSE(loaded.errors.empty());
    EXPECT_THAT(loaded.errors.front().str(), HasSubstr("server.boot.allowed_subnets")) << bad;
  }
  ::drover::test::ClusterYaml y;
  y.boot = "{ allowed_subnets: 192.0.2.0/24 }";  // one, not a list: fine too
  writeFile(dir.path() / "cluster.yaml", y.str());
  auto loaded = loadSnapshot((dir.path() / "cluster.yaml").string());
  ASSERT_TRUE(loaded.snapshot);
  EXPECT_EQ(loaded.snapshot->inventory.config().server.boot.allowed_subnets.size(), 1u);
}

}  // namespace
}  // namespace drover::server::testing
