// The image catalog keeping itself current while `drover serve` runs: an OS image declared
// by URL with a signature and `update: { interval: 2s, expire: 3s }`, its upstream a real
// HTTP server (tests/images/image_server.py) whose file changes under it. Checked: an
// unchanged upstream costs one conditional GET per check, a new signed version becomes the
// one plans name while a pending install keeps its own, an unused old version is collected
// after its expire but one a pending install names is kept until that install ends, a badly
// signed upstream is a failed check on the timeline, and `drover images list` and the
// dashboard's GET /v1/ui/images show it all.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/metrics.hpp"
#include "images/verify/signature.hpp"
#include "tests/images/image_server.hpp"
#include "tests/images/keys.hpp"
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string sha(const std::string& s) {
  images::verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return h.finish().hex();
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class CatalogUpdatesTest : public ServeTest {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(upstream_);
    ASSERT_TRUE(::drover::test::makeKeyPair(dir_.path(), "release", "ec"));
    ASSERT_TRUE(::drover::test::makeKeyPair(dir_.path(), "mallory", "ec"));
    publish(v1_);
    upstream_server_ = std::make_unique<::drover::test::ImageServer>(upstream_);
    ::drover::test::writeSiteFiles(dir_.path(), kKernelBytes);
    ::drover::test::ClusterYaml y;
    std::string yaml = y.str();
    const std::string local =
        "    disk: { path: images/os.raw, sha256: \"" + std::string(64, 'a') + "\" }\n";
    ASSERT_NE(yaml.find(local), std::string::npos);
    yaml.replace(
        yaml.find(local), local.size(),
        fmt::format("    disk: {{ url: \"{}\", signature: {{ url: \"{}\", key: release }} }}\n"
                    "    update: {{ interval: 2s, expire: 3s }}\n",
                    upstream_server_->url("os.raw"), upstream_server_->url("os.raw.sig")));
    yaml += "trust:\n  keys:\n    release: " + (dir_.path() / "release.pub").string() + "\n";
    config_ = dir_.path() / "cluster.yaml";
    writeFile(config_, yaml);
    app_ = std::make_unique<RunningApp>(config_);
    ASSERT_TRUE(app_->ok());
  }

  // Upstream now serves `content`, signed by `key`: both made aside, then renamed into
  // place, the file first (a check fetches the signature after the file).
  void publish(const std::string& content, const std::string& key = "release") {
    writeFile(dir_.path() / "next.raw", content);
    ASSERT_TRUE(::drover::test::sign(dir_.path(), key, dir_.path() / "next.raw",
                                     dir_.path() / "next.raw.sig"));
    std::filesystem::rename(dir_.path() / "next.raw", upstream_ / "os.raw");
    std::filesystem::rename(dir_.path() / "next.raw.sig", upstream_ / "os.raw.sig");
  }
  static std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  nlohmann::json disk() {
    auto r = op("GET", "/v1/images/os/events");
    EXPECT_EQ(r.status, 200) << r.body;
    for (const auto& a : r.json().value("artifacts", nlohmann::json::array()))
      if (a.value("kind", "") == "disk") return a;
    return nlohmann::json::object();
  }
  // Waits (at most 30 s) until the disk's timeline has `event` about `sha256`.
  // `since`: only an event at or after that time (Unix ms).
  bool waitForEvent(const std::string& event, const std::string& sha256, int count = 1,
                    std::int64_t since = 0) {
    for (int i = 0; i < 300; ++i) {
      for (const auto& e : disk().value("events", nlohmann::json::array()))
        if (e.value("event", "") == event && (sha256.empty() || e.value("sha256", "") == sha256) &&
            e.value("ts", std::int64_t{0}) >= since && e.value("count", 1) >= count)
          return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // The dashboard's view (GET /v1/ui/images): the disk's version rows and its check.
  std::pair<std::map<std::string, nlohmann::json>, nlohmann::json> uiDisk() {
    auto r = op("GET", "/v1/ui/images");
    EXPECT_EQ(r.status, 200) << r.body;
    std::map<std::string, nlohmann::json> rows;
    for (const auto& row : r.json().value("images", nlohmann::json::array()))
      if (row.value("image", "") == "os" && row.value("kind", "") == "disk")
        rows[row.value("sha256", "")] = row;
    for (const auto& c : r.json().value("checks", nlohmann::json::array()))
      if (c.value("image", "") == "os" && c.value("kind", "") == "disk") return {rows, c};
    return {rows, nlohmann::json::object()};
  }
  bool hasVersion(const std::string& sha256) {
    for (const auto& v : disk().value("versions", nlohmann::json::array()))
      if (v == sha256) return true;
    return false;
  }
  // Registers `mac` as installing and fetches its plan: the credential and the plan's sha256.
  std::pair<std::string, std::string> planFor(const std::string& mac) {
    auto cred = credentialFor(mac);
    EXPECT_EQ(registerNode(cred, mac).json().value("action", ""), "install");
    auto plan = apiCall("GET", "/v1/agent/plan", cred);
    EXPECT_EQ(plan.status, 200) << plan.body;
    return {cred, plan.json()["image"].value("sha256", "")};
  }
  Reply version(const std::string& sha256, std::vector<std::string> headers = {}) {
    return perform({.url = app_->api() + "/v1/images/os/disk/" + sha256,
                    .headers = std::move(headers),
                    .ca = app_->caFile()});
  }

  std::filesystem::path upstream_ = dir_.path() / "upstream";
  std::unique_ptr<::drover::test::ImageServer> upstream_server_;
  std::string v1_ = std::string(300000, '1');
  std::string v2_ = std::string(200000, '2');
  std::string v3_ = std::string(100000, '3');
};

TEST_F(CatalogUpdatesTest, TheCatalogChecksSwitchesAndCollectsWhileServing) {
  // node-1's install is planned with the first version and stays pending.
  auto [cred1, planned1] = planFor(kMac1);
  ASSERT_EQ(planned1, sha(v1_));
  EXPECT_EQ(upstream_server_->gets("os.raw"), 1);

  // An unchanged upstream: each check is one conditional GET, answered 304.
  auto t = Clock::now();
  ASSERT_TRUE(waitForEvent("unchanged", sha(v1_), 2));
  std::printf("two unchanged checks %.1f s after the first fetch\n", secondsSince(t));
  const auto before = disk()["events"][0].value("count", 1);
  const int gets = upstream_server_->gets("os.raw");
  const auto after = disk()["events"][0].value("count", 1);
  EXPECT_GE(gets, 1 + before);
  EXPECT_LE(gets, 1 + after + 1);                      // a check may be under way
  EXPECT_EQ(upstream_server_->gets("os.raw.sig"), 1);  // fetched with new content only
  EXPECT_EQ(disk().value("last_result", ""), "unchanged");
  EXPECT_GT(disk().value("next_check_ms", std::int64_t{0}),
            disk().value("checked_ms", std::int64_t{0}));
  auto metrics = get("/metrics");
  EXPECT_THAT(metrics.body,
              ::testing::HasSubstr("drover_image_checks_total{result=\"unchanged\"}"));

  // A new signed version: fetched, verified, and named by plans rendered after the switch.
  t = Clock::now();
  publish(v2_);
  ASSERT_TRUE(waitForEvent("updated", sha(v2_)));
  std::printf("new upstream version published %.1f s after it changed\n", secondsSince(t));
  EXPECT_EQ(disk().value("current", ""), sha(v2_));
  // node-1's install keeps its version (fetched before node-2's plan uses the new one).
  auto kept = version(sha(v1_));
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(kept.body, v1_);
  // An agent resuming a download (after its replica died, on another one) asks for the rest.
  auto rest = version(sha(v1_), {"Range: bytes=1000-"});
  ASSERT_EQ(rest.status, 206) << rest.body.substr(0, 200);
  EXPECT_EQ(rest.header("content-range"), "bytes 1000-299999/300000");
  EXPECT_EQ(rest.body, v1_.substr(1000));
  auto [cred2, planned2] = planFor(kMac2);
  EXPECT_EQ(planned2, sha(v2_));
  ASSERT_EQ(event(cred2, "image_written").status, 200);
  ASSERT_EQ(event(cred2, "installed").status, 200);

  // A third version: the second, installed and unused, is collected once its expire has
  // passed; the first, which node-1's pending install names, is kept though older.
  publish(v3_);
  ASSERT_TRUE(waitForEvent("updated", sha(v3_)));
  t = Clock::now();
  // The dashboard shows why each version stays or when it goes, and the check.
  {
    auto [rows, check] = uiDisk();
    EXPECT_EQ(rows[sha(v1_)].value("kept", ""), "install") << rows[sha(v1_)].dump();
    EXPECT_EQ(rows[sha(v3_)].value("kept", ""), "current");
    EXPECT_FALSE(rows[sha(v3_)].contains("expires_ms"));
    if (rows.contains(sha(v2_))) {  // unless already collected
      const auto& r = rows[sha(v2_)];
      EXPECT_FALSE(r.contains("kept")) << r.dump();
      EXPECT_EQ(
          r.value("expires_ms", std::int64_t{0}),
          std::max(r.value("used_ms", std::int64_t{0}), r.value("fetched_ms", std::int64_t{0})) +
              3000);
    }
    EXPECT_EQ(check.value("interval_s", 0), 2);
    EXPECT_EQ(check.value("expire_s", 0), 3);
    EXPECT_THAT(check.value("last_result", ""), ::testing::AnyOf("updated", "unchanged"));
    EXPECT_GT(check.value("next_check_ms", std::int64_t{0}),
              check.value("checked_ms", std::int64_t{0}));
    ASSERT_FALSE(check["events"].empty());
    EXPECT_LE(check["events"].size(), 5u);
    EXPECT_GE(check["events"][0].value("ts", std::int64_t{0}),
              check["events"].back().value("ts", std::int64_t{0}));  // newest first
  }
  ASSERT_TRUE(waitForEvent("collected", sha(v2_)));
  std::printf("unused version collected %.1f s after the next one arrived (expire 3s)\n",
              secondsSince(t));
  EXPECT_TRUE(hasVersion(sha(v1_)));
  EXPECT_FALSE(hasVersion(sha(v2_)));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/images/blobs/sha256" / sha(v2_)));
  EXPECT_EQ(version(sha(v2_)).status, 404);

  // Upstream signed by a key the declaration does not trust: a failed check on the
  // timeline, the current version still served, and serve carries on.
  const auto since = nowMs();
  publish(std::string(1000, 'x'), "mallory");
  ASSERT_TRUE(waitForEvent("failed", "", 1, since));
  EXPECT_EQ(disk().value("last_result", ""), "failed");
  EXPECT_THAT(disk().value("last_error", ""), ::testing::HasSubstr("signature_mismatch"));
  EXPECT_EQ(disk().value("current", ""), sha(v3_));
  EXPECT_EQ(uiDisk().second.value("last_result", ""), "failed");
  EXPECT_THAT(uiDisk().second.value("last_error", ""), ::testing::HasSubstr("signature_mismatch"));
  EXPECT_THAT(get("/metrics").body,
              ::testing::HasSubstr("drover_image_checks_total{result=\"failed\"}"));

  // `drover images list` shows the checks.
  cli::ImagesTarget target;
  target.config = config_.string();
  std::ostringstream out, err;
  ASSERT_EQ(cli::runImagesList(target, false, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), ::testing::HasSubstr("LAST CHECK"));
  EXPECT_THAT(out.str(), ::testing::HasSubstr("failed"));
  std::printf("%s", out.str().c_str());

  // node-1's install ends: its version goes too.
  ASSERT_EQ(event(cred1, "failed", "disk on fire").status, 200);
  t = Clock::now();
  ASSERT_TRUE(waitForEvent("collected", sha(v1_)));
  std::printf("version freed by the ended install collected after %.1f s\n", secondsSince(t));
  EXPECT_EQ(version(sha(v1_)).status, 404);
  EXPECT_GE(metrics::Registry::global().valueForTest("image_collected_total"), 2);
}

}  // namespace
}  // namespace drover::server::testing
