// Capture end to end over loopback: `drover images capture` asks an in-process drover
// serve for node-1's disk, the real drover-agent captures a file-backed disk and uploads
// it, the version appears in `drover images list`, and the real agent installs it on
// node-2 byte for byte. Broken uploads (truncated, wrong digests, hostile tokens) are
// driven by hand and never published.
#include <random>

#include <zstd.h>

#include "agent/process.hpp"
#include "images/verify/signature.hpp"
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string sha256Of(const std::string& s) {
  images::verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return h.finish().hex();
}

// A disk: a random "used" part, then blocks of patterns, then zeros.
std::string diskImage(std::size_t n) {
  std::string d(n, '\0');
  std::mt19937 rng(1234);
  for (std::size_t i = 0; i < n / 3; ++i) d[i] = static_cast<char>(rng());
  for (std::size_t i = n / 3; i < 2 * n / 3; ++i) d[i] = static_cast<char>((i / 512) & 0xff);
  return d;
}

std::string zstd(const std::string& raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3));
  return out;
}

class CaptureTest : public ServeTest {
 protected:
  void SetUp() override {
    ServeTest::SetUp();
    bin_ = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "bin";
  }

  struct Run {
    int code = -1;
    std::string output;
  };
  Run run(const std::string& program, std::vector<std::string> args) {
    const fs::path exe = bin_ / program;
    if (!fs::exists(exe)) {
      ADD_FAILURE() << exe << " is not built";
      return {};
    }
    args.insert(args.begin(), exe.string());
    const auto log = dir_.path() / (program + ".log");
    auto rc = agent::runProcess({args, {}, log.string()});
    return {rc ? *rc : -1, slurp(log)};
  }
  Run drover(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_.string(), "--state-dir", app_->app().stateDir().string()});
    return run("drover", std::move(args));
  }

  // The kernel line of the node's boot script, as a /proc/cmdline file for the agent.
  fs::path cmdlineFor(const std::string& mac, const std::string& file) {
    const auto s = script(mac);
    const auto at = s.find("\nkernel ");
    EXPECT_NE(at, std::string::npos) << s;
    const auto line = s.substr(at + 1, s.find('\n', at + 1) - at - 1);
    writeFile(dir_.path() / file, line.substr(0, line.find(" || ")) + "\n");
    return dir_.path() / file;
  }

  Reply requestCapture(const std::string& node, const std::string& body = "{}") {
    return apiCall("POST", "/v1/nodes/" + node + "/capture", app_->operatorToken(), body);
  }

  // Drives the agent's calls by hand up to the capture plan; returns its "capture" object.
  json capturePlanFor(const std::string& mac) {
    auto cred = credentialFor(mac);
    // An installer (no "mode") is sent to the local disk; the capture agent says its mode.
    EXPECT_EQ(registerNode(cred, mac).json().value("action", ""), "boot-local");
    auto reg = apiCall("POST", "/v1/agent/register", cred, json{{"mac", mac}, {"mode", "capture"}}.dump());
    EXPECT_EQ(reg.json().value("action", ""), "capture") << reg.body;
    auto plan = apiCall("GET", "/v1/agent/plan", cred);
    EXPECT_EQ(plan.status, 200) << plan.body;
    return plan.json()["capture"];
  }
  Reply upload(const json& plan, const std::string& what, const std::string& body, const std::string& token = "",
               const std::string& method = "PUT") {
    return perform({.method = method,
                    .url = plan["upload_url"].get<std::string>() + "/" + what,
                    .headers = {"Authorization: Bearer " + (token.empty() ? plan["token"].get<std::string>() : token)},
                    .body = body,
                    .ca = app_->caFile()});
  }
  Reply finish(const json& plan, const std::string& z, const std::string& raw, const std::string& sha = "",
               const std::string& raw_sha = "") {
    return upload(plan, "finish",
                  json{{"sha256", sha.empty() ? sha256Of(z) : sha},
                       {"size", z.size()},
                       {"raw_sha256", raw_sha.empty() ? sha256Of(raw) : raw_sha},
                       {"raw_size", raw.size()}}
                      .dump(),
                  "", "POST");
  }
  std::vector<std::string> phases(const std::string& node) {
    std::vector<std::string> out;
    for (const auto& e : op("GET", "/v1/nodes/" + node + "/events").json()) out.push_back(e["phase"]);
    return out;
  }
  std::string lastMessage(const std::string& node, const std::string& phase) {
    std::string m;
    for (const auto& e : op("GET", "/v1/nodes/" + node + "/events").json())
      if (e["phase"] == phase) m = e["message"];
    return m;
  }
  // Nothing of node-1's capture reached the catalog.
  void expectNothingPublished() {
    auto list = drover({"images", "list", "--json"});
    ASSERT_EQ(list.code, 0) << list.output;
    EXPECT_THAT(list.output, ::testing::Not(HasSubstr("node-1-capture")));
    const auto tmp = app_->app().stateDir() / "images/tmp";
    for (const auto& e : fs::directory_iterator(tmp))
      EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr("capture-"))) << "partial upload left";
    EXPECT_EQ(op("GET", "/v1/nodes/node-1").json().value("state", ""), "installed");
  }

  fs::path bin_;
};

TEST_F(CaptureTest, RealAgentCapturesADiskThatAnotherNodeInstalls) {
  install(kMac1);
  // The operator asks with the CLI; the node shows the intent.
  auto asked = drover({"images", "capture", "node-1", "--api", app_->api()});
  ASSERT_EQ(asked.code, 0) << asked.output;
  EXPECT_THAT(asked.output, HasSubstr("capture requested into image node-1-capture"));
  auto node = op("GET", "/v1/nodes/node-1").json();
  EXPECT_EQ(node["state"], "installed+capture");
  EXPECT_EQ(node["capture"], "node-1-capture");

  // Its next network boot starts the agent in capture mode.
  const auto cmdline = cmdlineFor(kMac1, "cmdline-1");
  EXPECT_THAT(slurp(cmdline), HasSubstr("drover.mode=capture"));
  const std::string raw = diskImage(6 * 1024 * 1024 + 4096);
  writeFile(dir_.path() / "disk-1.raw", raw);
  auto agent = run("drover-agent", {"capture", "--cmdline", cmdline.string(), "--disk",
                                    (dir_.path() / "disk-1.raw").string(), "--allow-file-target", "--no-reboot"});
  ASSERT_EQ(agent.code, 0) << agent.output;
  EXPECT_THAT(agent.output, HasSubstr("captured=yes"));
  EXPECT_THAT(agent.output, HasSubstr("AGENT_CAPTURED"));

  // Back to installed; the timeline says what happened; the next boot is the local disk.
  node = op("GET", "/v1/nodes/node-1").json();
  EXPECT_EQ(node["state"], "installed");
  EXPECT_EQ(node["capture"], "");
  EXPECT_THAT(phases("node-1"), ::testing::IsSupersetOf({"capture_requested", "capture_started", "captured"}));
  EXPECT_THAT(lastMessage("node-1", "captured"), HasSubstr(sha256Of(raw)));
  EXPECT_THAT(script(kMac1), HasSubstr("sanboot"));

  // drover images list shows the captured version, pinned, with the raw disk's digest.
  auto list = drover({"images", "list", "--json"});
  ASSERT_EQ(list.code, 0) << list.output;
  json version;
  const auto listed = json::parse(list.output.substr(std::min(list.output.find('{'), list.output.size())), nullptr, false);
  ASSERT_TRUE(listed.is_object()) << list.output;
  for (const auto& r : listed["images"])
    if (r["image"] == "node-1-capture") version = r;
  ASSERT_FALSE(version.is_null()) << list.output;
  EXPECT_EQ(version["source"], "captured");
  EXPECT_EQ(version["node"], "node-1");
  EXPECT_EQ(version["kind"], "disk");
  EXPECT_EQ(version["pinned"], true);
  EXPECT_EQ(version["raw_sha256"], sha256Of(raw));
  EXPECT_EQ(version["raw_size"], raw.size());
  const std::string sha = version["sha256"];
  auto table = drover({"images", "list"});
  EXPECT_THAT(table.output, HasSubstr("captured"));

  // node-2 declared with the captured image installs it through the normal plan.
  auto yaml = slurp(config_);
  yaml.replace(yaml.find("images:\n") + 8, 0,
               "  node-1-capture:\n    disk: { url: \"https://127.0.0.1:9/v1/images/node-1-capture/disk/" + sha +
                   "\", sha256: \"" + sha + "\" }\n");
  yaml.replace(yaml.find("profiles:\n") + 10, 0, "  clone:\n    install: { image: node-1-capture, disk: /dev/vda }\n");
  yaml.replace(yaml.find("  - name: node-2\n") + 17, 0, "    profile: clone\n");
  writeFile(config_, yaml);
  ASSERT_TRUE(app_->app().reload());
  const auto cmdline2 = cmdlineFor(kMac2, "cmdline-2");
  EXPECT_THAT(slurp(cmdline2), ::testing::Not(HasSubstr("capture")));
  const auto target = dir_.path() / "disk-2.raw";
  auto inst = run("drover-agent", {"install", "--cmdline", cmdline2.string(), "--disk", target.string(),
                                   "--allow-file-target", "--installed-root", (dir_.path() / "root-2").string(),
                                   "--no-reboot"});
  ASSERT_EQ(inst.code, 0) << inst.output;
  EXPECT_THAT(inst.output, HasSubstr("installed=yes"));
  EXPECT_TRUE(slurp(target) == raw) << "the installed disk differs from the captured one";
  EXPECT_EQ(op("GET", "/v1/nodes/node-2").json().value("state", ""), "installed");
}

TEST_F(CaptureTest, AnAgentThatCannotReadTheDiskEndsTheCaptureAndTheNodeStaysInstalled) {
  install(kMac1);
  ASSERT_EQ(requestCapture("node-1").status, 200);
  const auto cmdline = cmdlineFor(kMac1, "cmdline-1");
  auto agent = run("drover-agent", {"capture", "--cmdline", cmdline.string(), "--disk",
                                    (dir_.path() / "no-such-disk").string(), "--allow-file-target", "--no-reboot"});
  EXPECT_EQ(agent.code, 1) << agent.output;
  EXPECT_THAT(agent.output, HasSubstr("disk_missing"));
  EXPECT_THAT(lastMessage("node-1", "capture_failed"), HasSubstr("does not exist"));
  expectNothingPublished();
  EXPECT_THAT(script(kMac1), HasSubstr("sanboot"));
}

TEST_F(CaptureTest, ATruncatedUploadIsNeverPublished) {
  install(kMac1);
  ASSERT_EQ(requestCapture("node-1").status, 200);
  const auto plan = capturePlanFor(kMac1);
  const std::string raw = diskImage(1 << 20);
  const std::string z = zstd(raw);
  ASSERT_EQ(upload(plan, "data?offset=0", z.substr(0, z.size() / 2)).status, 200);
  auto r = finish(plan, z, raw);  // declares the whole stream
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.json().value("error", ""), "truncated");
  expectNothingPublished();
  EXPECT_THAT(lastMessage("node-1", "capture_failed"), HasSubstr("truncated"));
  EXPECT_THAT(get("/metrics").body, HasSubstr("capture_drops_total{reason=\"truncated\"}"));
  // The token died with the capture.
  EXPECT_EQ(upload(plan, "data?offset=0", z).status, 401);

  // Cut inside the zstd frame but declared as what arrived: the stream itself is truncated.
  ASSERT_EQ(requestCapture("node-1").status, 200);
  const auto plan2 = capturePlanFor(kMac1);
  const std::string cut = z.substr(0, z.size() - 10);
  ASSERT_EQ(upload(plan2, "data?offset=0", cut).status, 200);
  r = finish(plan2, cut, raw);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.json().value("error", ""), "truncated");
  expectNothingPublished();
}

TEST_F(CaptureTest, WrongDigestsAreNeverPublished) {
  install(kMac1);
  const std::string raw = diskImage(1 << 20);
  const std::string z = zstd(raw);
  for (const auto& [which, error] : {std::pair{"stream", "sha256_mismatch"}, {"raw", "raw_sha256_mismatch"}}) {
    ASSERT_EQ(requestCapture("node-1").status, 200);
    const auto plan = capturePlanFor(kMac1);
    // Two pieces, the first one sent twice (its reply "lost"): the server rewrites it.
    const auto half = z.size() / 2;
    ASSERT_EQ(upload(plan, "data?offset=0", z.substr(0, half)).status, 200);
    ASSERT_EQ(upload(plan, "data?offset=0", z.substr(0, half)).status, 200);
    ASSERT_EQ(upload(plan, "data?offset=" + std::to_string(half), z.substr(half)).status, 200);
    const std::string wrong(64, 'e');
    auto r = std::string(which) == "stream" ? finish(plan, z, raw, wrong) : finish(plan, z, raw, "", wrong);
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.json().value("error", ""), error);
    expectNothingPublished();
    EXPECT_THAT(lastMessage("node-1", "capture_failed"), HasSubstr(error));
  }
  EXPECT_THAT(get("/metrics").body, HasSubstr("capture_drops_total{reason=\"sha256_mismatch\"}"));
}

TEST_F(CaptureTest, HostileTokensAndOffsetsAreRefusedAndCounted) {
  install(kMac1);
  const auto credential2 = install(kMac2);
  ASSERT_EQ(requestCapture("node-1").status, 200);
  const auto plan = capturePlanFor(kMac1);
  const std::string token = plan["token"];
  const std::string secret = token.substr(token.find('.') + 1);
  EXPECT_EQ(upload(plan, "data?offset=0", "x", "node-1.wrong").status, 401);
  EXPECT_EQ(upload(plan, "data?offset=0", "x", "node-2." + secret).status, 401);  // another node's name
  EXPECT_EQ(upload(plan, "data?offset=0", "x", "no-dot").status, 401);
  EXPECT_EQ(perform({.method = "PUT", .url = plan["upload_url"].get<std::string>() + "/data?offset=0",
                     .body = std::string("x"), .ca = app_->caFile()}).status, 401);
  // The node credential is not a capture token either.
  EXPECT_EQ(upload(plan, "data?offset=0", "x", credential2).status, 401);
  EXPECT_THAT(get("/metrics").body, HasSubstr("capture_drops_total{reason=\"bad_token\"}"));
  // Offsets: a gap is refused with the size to go on from; garbage is a 400.
  ASSERT_EQ(upload(plan, "data?offset=0", "abc").status, 200);
  auto gap = upload(plan, "data?offset=10", "x");
  EXPECT_EQ(gap.status, 409);
  EXPECT_EQ(gap.json().value("size", 0), 3);
  EXPECT_EQ(upload(plan, "data?offset=-1", "x").status, 400);
  EXPECT_EQ(upload(plan, "data?offset=1e3", "x").status, 400);
  // A capture the agent gives up on ends the capture, nothing published.
  EXPECT_EQ(upload(plan, "abort", R"({"message":"read /dev/vda: I/O error"})", "", "POST").status, 200);
  EXPECT_THAT(lastMessage("node-1", "capture_failed"), HasSubstr("I/O error"));
  expectNothingPublished();
}

TEST_F(CaptureTest, CaptureIsRequestedOnlyForAnInstalledDisk) {
  EXPECT_EQ(requestCapture("node-1").status, 409);  // never booted
  EXPECT_EQ(requestCapture("no-such-node").status, 404);
  credentialFor(kMac1);  // a record, but installing
  EXPECT_EQ(requestCapture("node-1").json().value("error", ""), "not_installed");
  install(kMac2);
  EXPECT_EQ(requestCapture("node-2", R"({"image":"../etc"})").status, 400);
  auto r = requestCapture("node-2", R"({"image":"golden"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().value("capture", ""), "golden");
  EXPECT_THAT(script(kMac2), HasSubstr("drover.mode=capture"));
  // Cancelled: the next boot is the local disk again.
  auto cancel = drover({"images", "capture", "node-2", "--cancel", "--api", app_->api()});
  EXPECT_EQ(cancel.code, 0) << cancel.output;
  EXPECT_EQ(op("GET", "/v1/nodes/node-2").json().value("state", ""), "installed");
  EXPECT_THAT(script(kMac2), HasSubstr("sanboot"));
  EXPECT_EQ(op("DELETE", "/v1/nodes/node-2/capture").status, 409);
  // The operator token is required.
  EXPECT_EQ(apiCall("POST", "/v1/nodes/node-2/capture", "wrong", "{}").status, 401);
}

}  // namespace
}  // namespace drover::server::testing
