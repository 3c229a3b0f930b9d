// The API replies, join recipes and installed root a compromised or broken server can hand
// the agent: malformed, huge, deeply nested, of wrong types, stalled, lying about their
// length, or an image whose tree points out of itself. Each is a clear error (counted), never
// a crash, a hang, or a write outside the installed root.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "agent/api_client.hpp"
#include "agent/capture.hpp"
#include "agent/digest.hpp"
#include "agent/install.hpp"
#include "agent/installed_root.hpp"
#include "agent/join.hpp"
#include "agent/seed.hpp"
#include "agent/sink.hpp"
#include "common/metrics.hpp"
#include "tests/agent/compress_util.hpp"
#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::int64_t refused(const std::string& reason) {
  return metrics::Registry::global().valueForTest("agent_api_refused_total",
                                                  "reason=\"" + reason + "\"");
}

ApiOptions fastOptions(const std::string& base) {
  ApiOptions o;
  o.base = base;
  o.max_attempts = 2;
  o.backoff_initial = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(10);
  o.timeout_s = 5;
  return o;
}

std::string deep(char open, char close, std::size_t depth) {
  return std::string(depth, open) + std::string(depth, close);
}

const std::string kSha(64, 'a');

TEST(HostileReplies, MalformedPlansAreBadReplies) {
  const std::string img = R"({"url":"http://192.0.2.1/d","sha256":")" + kSha + "\"";
  const std::vector<std::string> bodies = {
      "\xff\xfe{}",
      "{\"image\":" + deep('[', ']', 100000) + "}",
      deep('{', '}', 1) + deep('[', ']', 5000),
      R"({"image":)" + img + R"(,"size":"big"},"disk":"/dev/vda"})",
      R"({"image":)" + img + R"(,"size":1e300},"disk":"/dev/vda"})",
      R"({"image":)" + img + R"(,"size":1.5},"disk":"/dev/vda"})",
      R"({"image":)" + img + R"(,"size":-5},"disk":"/dev/vda"})",
      R"({"image":)" + img + R"(,"size":99999999999999999999999},"disk":"/dev/vda"})",
      R"({"image":)" + img + R"(},"disk":null})",
      R"({"image":)" + img + R"(},"disk":["/dev/vda"]})",
      R"({"image":)" + img + R"(,"signature":"c2ln"},"disk":"/dev/vda"})",
      R"({"image":{"url":7,"sha256":")" + kSha + R"("},"disk":"/dev/vda"})",
      R"({"image":)" + img + R"(},"disk":"/dev/vda")",  // cut short
  };
  const auto before = refused("bad_reply");
  for (const auto& body : bodies) {
    auto p = parsePlan(body);
    ASSERT_FALSE(p.ok()) << body.substr(0, 120);
    EXPECT_EQ(p.error().code, "bad_reply") << body.substr(0, 120);
  }
  EXPECT_EQ(refused("bad_reply"), before + static_cast<std::int64_t>(bodies.size()));
  // A recipe deep enough to overflow the stack when copied is refused before parsing.
  auto j = parseJoin("{\"steps\":" + deep('[', ']', 200000) + "}");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("nests deeper"), std::string::npos) << j.error().message;
  // Brackets inside strings do not count.
  EXPECT_TRUE(parseJoin("{\"recipe\":\"" + deep('[', ']', 1000) + "\"}").ok());
}

TEST(HostileReplies, CapturePlanOfWrongTypesIsAnError) {
  for (const char* body : {R"({"action":5,"capture":{}})", R"({"action":["capture"]})",
                           R"({"action":"capture","capture":{"image":1}})",
                           R"({"action":"capture","capture":{"image":"i","disk":"/dev/vda",)"
                           R"("upload_url":"u","token":"t","chunk_bytes":-1}})"}) {
    auto p = parseCapturePlan(body);
    ASSERT_FALSE(p.ok()) << body;
  }
}

TEST(HostileReplies, RecipeFieldsOfWrongTypesAreBadRecipes) {
  const std::vector<json> steps = {
      {{"run", json::array({"true"})}, {"name", 5}},
      {{"run", json::array({"true"})}, {"ignore_error", "yes"}},
      {{"ctr_run", {{"image", "i"}, {"id", "x"}, {"net_host", "true"}}}},
      {{"write_file", {{"path", "/etc/x"}, {"content", ""}, {"mode", 420}}}},
      {{"write_file", {{"path", "/etc/x"}, {"content", ""}, {"mode", "rwx"}}}},
      {{"write_file", {{"path", "/etc/x"}, {"content", ""}, {"mode", "99999999999999999999"}}}},
      {{"write_file", {{"path", "/etc/x"}, {"content", ""}, {"mode", ""}}}},
      {{"write_file", {{"path", "../../etc/shadow"}, {"content", ""}}}},
      {{"write_file", {{"path", "etc/x"}, {"content", ""}}}},
      {{"write_file", {{"path", "/var/lib/../../etc/shadow"}, {"content", ""}}}},
      {{"write_file", {{"path", "/etc/"}, {"content", ""}}}},
      {{"write_file", {{"path", ""}, {"content", ""}}}},
  };
  for (const auto& s : steps) {
    JoinRecipe r;
    r.steps = json::array({s});
    auto planned = planSteps(r, RuntimePaths{}, {});
    ASSERT_FALSE(planned.ok()) << s.dump();
    EXPECT_EQ(planned.error().code, "bad_recipe") << s.dump();
  }
}

class HostileApi : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }
  std::size_t planRequests() const {
    std::size_t n = 0;
    for (const auto& r : server_.requests()) n += r["path"] == "/v1/agent/plan";
    return n;
  }
  test::TestServer server_;
};

TEST_F(HostileApi, HugeRepliesAreRefusedWithoutRetry) {
  // 5 MiB against the 4 MiB cap: refused on its Content-Length, not read, not retried.
  server_.setRoutes({{"GET /v1/agent/plan", {{{"text", "x"}, {"repeat", 5 * 1024 * 1024}}}}});
  const auto before = refused("reply_too_large");
  ApiClient api(fastOptions(server_.url("")));
  auto r = api.plan();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "reply_too_large") << r.error().message;
  EXPECT_EQ(planRequests(), 1u);
  EXPECT_EQ(refused("reply_too_large"), before + 1);
}

TEST_F(HostileApi, StalledReplyTimesOut) {
  server_.setRoutes({{"GET /v1/agent/plan", {{{"json", {{"disk", "/dev/vda"}}}, {"stall", 30}}}}});
  auto o = fastOptions(server_.url(""));
  o.timeout_s = 1;
  ApiClient api(o);
  const auto t0 = Clock::now();
  auto r = api.plan();
  std::printf("stalled plan reply: gave up after %.2f s (2 attempts, 1 s timeout)\n",
              std::chrono::duration<double>(Clock::now() - t0).count());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "retries_exhausted") << r.error().message;
  EXPECT_EQ(planRequests(), 2u);
}

TEST_F(HostileApi, ContentLengthLieIsRetriedThenFails) {
  server_.setRoutes(
      {{"GET /v1/agent/plan", {{{"json", {{"disk", "/dev/vda"}}}, {"cl_extra", 1000}}}}});
  ApiClient api(fastOptions(server_.url("")));
  auto r = api.plan();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "retries_exhausted") << r.error().message;
}

TEST_F(HostileApi, DeepErrorBodyIsJustAnHttpStatus) {
  server_.setRoutes(
      {{"GET /v1/agent/plan",
        {{{"status", 400}, {"text", "{\"error\":" + deep('[', ']', 300000) + "}"}}}}});
  ApiClient api(fastOptions(server_.url("")));
  auto r = api.plan();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "http_status");
}

// The installed root comes from the server's image: its symlinks may point anywhere.
TEST(HostileRoot, SymlinksResolveInsideTheRoot) {
  test::TempDir tmp;
  const fs::path root = tmp.path() / "root", outside = tmp.path() / "outside";
  // Where the links lead when resolved as the installed OS sees them: under the root.
  const fs::path mirrored = root / outside.relative_path();
  fs::create_directories(mirrored);
  fs::create_directories(root / "outside");
  fs::create_directories(root / "var/lib");
  fs::create_directories(root / "etc/systemd");
  fs::create_directories(root / "usr/local/lib/drover-agent");
  fs::create_directories(outside);
  ::drover::test::writeFile(outside / "victim", "untouched");
  fs::create_symlink(outside, root / "var/lib/cloud");                         // absolute
  fs::create_symlink("../../../../../../../../outside", root / "etc/drover");  // climbs up
  fs::create_symlink(outside, root / "etc/systemd/system");
  fs::create_symlink(outside / "victim", root / "usr/local/lib/drover-agent/drover-agent");
  // A FIFO where the config's temporary file goes: opening it would block for ever.
  ASSERT_EQ(::mkfifo((root / "outside/agent.json.tmp").c_str(), 0600), 0);

  ASSERT_TRUE(writeSeedDir(root, SeedData{"#cloud-config\n", "n1", "n1"}).ok());
  auto st = installAgentInto(root, AgentConfig{"https://192.0.2.1:8443", "", "secret", "n1"});
  ASSERT_TRUE(st.ok()) << st.error().message;

  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(outside))
    names.push_back(e.path().filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"victim"}));
  EXPECT_EQ(::drover::test::readFile(outside / "victim"), "untouched");
  EXPECT_EQ(::drover::test::readFile(mirrored / "seed/nocloud/user-data"), "#cloud-config\n");
  EXPECT_TRUE(fs::is_regular_file(root / "outside/agent.json"));
  EXPECT_TRUE(fs::is_symlink(mirrored / "multi-user.target.wants" / kUnitName));
  EXPECT_TRUE(fs::is_regular_file(mirrored / kUnitName));
  EXPECT_FALSE(fs::is_symlink(root / kAgentLibDir / "drover-agent"));
}

TEST(HostileRoot, SymlinksLeadingOutOfTheRootAreRefused) {
  test::TempDir tmp;
  const fs::path root = tmp.path() / "root", outside = tmp.path() / "outside";
  fs::create_directories(root / "var/lib");
  fs::create_directories(root / "etc");
  fs::create_directories(outside);
  fs::create_symlink(outside, root / "var/lib/cloud");
  fs::create_symlink("../../outside", root / "etc/drover");
  auto seed = writeSeedDir(root, SeedData{"#cloud-config\n", "n1", "n1"});
  ASSERT_FALSE(seed.ok());
  EXPECT_EQ(seed.error().code, "seed");
  auto agent = installAgentInto(root, AgentConfig{"https://192.0.2.1:8443", "", "secret", "n1"});
  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.error().code, "install_agent");
  EXPECT_TRUE(fs::is_empty(outside));
}

TEST(HostileRoot, AFileWhereADirectoryShouldBeIsAnError) {
  test::TempDir tmp;
  ::drover::test::writeFile(tmp.path() / "var/lib/cloud", "not a directory");
  auto st = writeSeedDir(tmp.path(), SeedData{"#cloud-config\n", "n1", "n1"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "seed");
}

// The whole install against a server whose image does not match its own plan: `failed`,
// never `installed`, no seed, and the disk does not hold the image's first bytes.
TEST_F(HostileApi, InstallOfATamperedImageLeavesNothingBootable) {
  test::TempDir tmp;
  const test::Bytes image = test::makeImage(6 * 1024 * 1024, 4);
  server_.addFile("disk.raw", image);
  json plan = {{"image",
                {{"url", server_.url("/disk.raw")},
                 {"sha256", std::string(64, 'c')},
                 {"format", "raw"},
                 {"size", image.size()}}},
               {"disk", "/dev/drover-test-no-such-disk"}};
  server_.setRoutes({
      {"POST /v1/agent/exchange", {{{"json", {{"node", "w1"}, {"credential", "c"}}}}}},
      {"POST /v1/agent/register", {{{"json", {{"node", "w1"}, {"action", "install"}}}}}},
      {"GET /v1/agent/plan", {{{"json", plan}}}},
      {"GET /v1/agent/cloud-config", {{{"text", "#cloud-config\n"}}}},
      {"POST /v1/agent/events", {{{"json", json::object()}}}},
  });
  InstallOptions opt;
  opt.params.api = server_.url("");
  opt.params.token = "t";
  opt.params.mode = Mode::Install;
  opt.disk = (tmp.path() / "disk.img").string();
  opt.allow_file_target = true;
  opt.installed_root = tmp.path() / "root";
  opt.reboot = false;
  opt.console_progress = false;
  opt.sys_root = test::sourceDir() / "tests/testdata/agent/qemu";
  opt.stream.backoff_initial = opt.api.backoff_initial = std::chrono::milliseconds(5);
  opt.stream.backoff_max = opt.api.backoff_max = std::chrono::milliseconds(10);
  auto r = runInstall(opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sha256_mismatch");
  std::vector<std::string> phases;
  for (const auto& q : server_.requests()) {
    if (q["path"] == "/v1/agent/events")
      phases.push_back(json::parse(q["body"].get<std::string>())["phase"].get<std::string>());
  }
  ASSERT_FALSE(phases.empty());
  EXPECT_EQ(phases.back(), "failed");
  EXPECT_EQ(std::count(phases.begin(), phases.end(), "installed"), 0);
  EXPECT_FALSE(fs::exists(opt.installed_root / kNoCloudSeedDir));
  const std::string disk = ::drover::test::readFile(opt.disk);
  ASSERT_GE(disk.size(), kDiscardBytes);
  EXPECT_EQ(disk.substr(0, kDiscardBytes), std::string(kDiscardBytes, '\0'));
}

}  // namespace
}  // namespace drover::agent
