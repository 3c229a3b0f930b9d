// The whole install flow against the fake server: exchange, register, plan, stream into a
// file target, seed + join unit into a directory standing for the installed root, events.
#include "agent/install.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "agent/digest.hpp"
#include "agent/installed_root.hpp"
#include "agent/process.hpp"
#include "agent/seed.hpp"
#include "tests/agent/compress_util.hpp"
#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;
using test::Bytes;
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok());
    server_.addFile("debian.raw.zst", packed_);
    plan_ = {{"image", {{"name", "debian-12"}, {"version", "1"}, {"url", server_.url("/debian.raw.zst")},
                        {"sha256", sha256Hex(packed_)}, {"size", packed_.size()}, {"format", "raw.zst"}}},
             {"disk", "/dev/drover-test-no-such-disk"},
             {"min_disk_bytes", 1024}};
    setRoutes();
    opt_.params.api = server_.url("");
    opt_.params.token = "boot-token";
    opt_.params.mode = Mode::Install;
    opt_.disk = (tmp_.path() / "disk.img").string();
    opt_.allow_file_target = true;
    opt_.installed_root = tmp_.path() / "root";
    opt_.reboot = false;
    opt_.sys_root = test::sourceDir() / "tests/testdata/agent/qemu";
    opt_.stream.backoff_initial = opt_.api.backoff_initial = std::chrono::milliseconds(5);
    opt_.stream.backoff_max = opt_.api.backoff_max = std::chrono::milliseconds(20);
    opt_.report_interval = std::chrono::milliseconds(0);
    opt_.console_progress = false;
    opt_.poll_interval = std::chrono::milliseconds(1);
  }

  void setRoutes(json register_answers = json::array({{{"json", {{"node", "worker-1"}, {"state", "installing"}, {"action", "install"}}}}})) {
    server_.setRoutes({
        {"POST /v1/agent/exchange", {{{"json", {{"node", "worker-1"}, {"credential", "cred-9"}}}}}},
        {"POST /v1/agent/register", register_answers},
        {"GET /v1/agent/plan", {{{"json", plan_}}}},
        {"GET /v1/agent/cloud-config", {{{"text", "#cloud-config\nhostname: worker-1\n"}}}},
        {"POST /v1/agent/events", {{{"json", json::object()}}}},
    });
  }

  std::vector<std::string> phases() {
    std::vector<std::string> out;
    for (const auto& r : server_.requests()) {
      if (r["path"] == "/v1/agent/events") {
        auto p = json::parse(r["body"].get<std::string>())["phase"].get<std::string>();
        if (p != "image_progress" || out.empty() || out.back() != p) out.push_back(p);
      }
    }
    return out;
  }

  std::string failedMessage() {
    for (const auto& r : server_.requests()) {
      if (r["path"] != "/v1/agent/events") continue;
      auto b = json::parse(r["body"].get<std::string>());
      if (b["phase"] == "failed") return b["message"];
    }
    return {};
  }

  test::TempDir tmp_;
  test::TestServer server_;
  const Bytes image_ = test::makeImage(2 * 1024 * 1024 + 5);
  const Bytes packed_ = test::zstdCompress(image_);
  json plan_;
  InstallOptions opt_;
};

TEST_F(InstallTest, InstallsSeedsAndReports) {
  int reboots = 0;
  opt_.reboot = true;
  opt_.reboot_fn = [&] { ++reboots; };
  auto r = runInstall(opt_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->installed);
  EXPECT_EQ(r->node, "worker-1");
  EXPECT_EQ(reboots, 1);
  EXPECT_EQ(slurp(opt_.disk), std::string(image_.begin(), image_.end()));

  const fs::path seed = opt_.installed_root / kNoCloudSeedDir;
  EXPECT_EQ(slurp(seed / "user-data"), "#cloud-config\nhostname: worker-1\n");
  EXPECT_EQ(slurp(seed / "meta-data"), "instance-id: \"worker-1\"\nlocal-hostname: \"worker-1\"\n");
  EXPECT_EQ(fs::status(seed / "user-data").permissions() & fs::perms::others_read, fs::perms::none);

  auto cfg = loadAgentConfig(opt_.installed_root / kAgentConfigPath);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->credential, "cred-9");
  EXPECT_EQ(cfg->node, "worker-1");
  EXPECT_NE(slurp(opt_.installed_root / "etc/systemd/system" / kUnitName).find("drover-agent join"), std::string::npos);
  EXPECT_TRUE(fs::is_symlink(opt_.installed_root / "etc/systemd/system/multi-user.target.wants" / kUnitName));
  EXPECT_TRUE(fs::exists(opt_.installed_root / kAgentLibDir / "drover-agent"));
  EXPECT_TRUE(fs::exists(opt_.installed_root / kAgentLibDir / "ld.so"));

  EXPECT_EQ(phases(), (std::vector<std::string>{"registered", "install_started", "image_progress",
                                                "image_written", "seed_written", "installed", "rebooting"}));
  auto reqs = server_.requests();
  auto reg = json::parse(reqs[1]["body"].get<std::string>());
  EXPECT_EQ(reg["mac"], "52:54:00:12:34:56");  // facts from the qemu tree
  for (std::size_t i = 1; i < reqs.size(); ++i) {
    if (reqs[i]["path"].get<std::string>().rfind("/v1/", 0) == 0) {
      EXPECT_EQ(reqs[i]["authorization"], "Bearer cred-9");
    }
  }
}

TEST_F(InstallTest, DryRunWritesNothing) {
  opt_.dry_run = true;
  auto r = runInstall(opt_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->installed);
  EXPECT_EQ(r->image.written, image_.size());
  EXPECT_FALSE(fs::exists(opt_.disk));
  EXPECT_FALSE(fs::exists(opt_.installed_root));
  auto p = phases();
  EXPECT_EQ(std::count(p.begin(), p.end(), "installed"), 0);
}

TEST_F(InstallTest, Sha256MismatchReportsFailedNotInstalled) {
  plan_["image"]["sha256"] = std::string(64, 'b');
  setRoutes();
  auto r = runInstall(opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sha256_mismatch");
  auto p = phases();
  EXPECT_EQ(p.back(), "failed");
  EXPECT_EQ(std::count(p.begin(), p.end(), "installed"), 0);
  EXPECT_EQ(std::count(p.begin(), p.end(), "image_written"), 0);
  EXPECT_NE(failedMessage().find("image: sha256"), std::string::npos) << failedMessage();
  EXPECT_FALSE(fs::exists(opt_.installed_root / kNoCloudSeedDir));
}

TEST_F(InstallTest, GarbagePlanIsAClearError) {
  server_.setRoutes({
      {"POST /v1/agent/exchange", {{{"json", {{"node", "worker-1"}, {"credential", "c"}}}}}},
      {"POST /v1/agent/register", {{{"json", {{"action", "install"}}}}}},
      {"GET /v1/agent/plan", {{{"text", "{\"image\": [oops"}}}},
      {"POST /v1/agent/events", {{{"json", json::object()}}}},
  });
  auto r = runInstall(opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_reply");
  EXPECT_NE(failedMessage().find("plan: plan: reply is not JSON"), std::string::npos) << failedMessage();
}

TEST_F(InstallTest, PlannedDiskMustExist) {
  opt_.disk.clear();
  opt_.allow_file_target = false;
  auto r = runInstall(opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "disk_missing");
  EXPECT_NE(failedMessage().find("/dev/drover-test-no-such-disk"), std::string::npos);
}

TEST_F(InstallTest, FileIsNotABlockDevice) {
  std::ofstream(opt_.disk) << "x";
  opt_.allow_file_target = false;
  auto r = runInstall(opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_block_device");
}

TEST_F(InstallTest, RejectedTokenStopsEarly) {
  server_.setRoutes({{"POST /v1/agent/exchange", {{{"status", 403}, {"json", {{"error", "token_used"}, {"message", "already exchanged"}}}}}}});
  auto r = runInstall(opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "token_used");
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(InstallTest, DiscoveryWaitsForTheOperator) {
  opt_.params.mode = Mode::Discover;
  opt_.params.token.clear();
  opt_.reboot = true;
  int reboots = 0;
  opt_.reboot_fn = [&] { ++reboots; };
  setRoutes(json::array({{{"json", {{"node", ""}, {"state", "discovered"}, {"action", "wait"}}}},
                         {{"json", {{"node", ""}, {"state", "discovered"}, {"action", "wait"}}}},
                         {{"json", {{"node", "worker-7"}, {"state", "assigned"}, {"action", "install"}}}}}));
  auto r = runInstall(opt_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->action, "install");
  EXPECT_FALSE(r->installed);
  EXPECT_EQ(reboots, 1);
  int registers = 0;
  for (const auto& q : server_.requests()) registers += q["path"] == "/v1/agent/register";
  EXPECT_EQ(registers, 3);
}

TEST_F(InstallTest, DiscoveryStopsAfterMaxPolls) {
  opt_.params.mode = Mode::Discover;
  opt_.max_polls = 2;
  setRoutes(json::array({{{"json", {{"action", "wait"}}}}}));
  auto r = runInstall(opt_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->action, "wait");
}

}  // namespace
}  // namespace drover::agent

namespace drover::agent {
namespace {

// The drover-agent executable itself, against the same fake server.
class AgentCli : public InstallTest {
 protected:
  void SetUp() override {
    InstallTest::SetUp();
    // <build>/tests/agent_stream_test -> <build>/bin/drover-agent
    agent_ = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "bin/drover-agent";
    if (!fs::exists(agent_)) GTEST_SKIP() << agent_ << " not built";
  }

  int run(std::vector<std::string> args) {
    args.insert(args.begin(), agent_.string());
    auto rc = runProcess({args, {}, (tmp_.path() / "cli.log").string()});
    return rc ? *rc : -1;
  }
  std::string output() { return slurp(tmp_.path() / "cli.log"); }

  fs::path agent_;
};

TEST_F(AgentCli, InstallByHand) {
  const std::string root = (test::sourceDir() / "tests/testdata/agent/qemu").string();
  ASSERT_EQ(run({"install", "--api", server_.url(""), "--token", "boot-token", "--disk", opt_.disk,
                 "--allow-file-target", "--installed-root", opt_.installed_root.string(), "--no-reboot",
                 "--sys-root", root}), 0)
      << output();
  EXPECT_EQ(slurp(opt_.disk), std::string(image_.begin(), image_.end()));
  EXPECT_NE(output().find("installed=yes"), std::string::npos) << output();
}

TEST_F(AgentCli, ParametersFromACommandLineFile) {
  const auto cmdline = tmp_.path() / "cmdline";
  std::ofstream(cmdline) << "console=ttyS0 drover.api=" << server_.url("") << " drover.token=boot-token\n";
  ASSERT_EQ(run({"install", "--cmdline", cmdline.string(), "--disk", opt_.disk, "--allow-file-target",
                 "--dry-run", "--no-reboot"}), 0)
      << output();
  EXPECT_FALSE(fs::exists(opt_.disk));
}

TEST_F(AgentCli, MissingParametersAreClearErrors) {
  EXPECT_EQ(run({"install", "--token", "t"}), kExitFailed);
  EXPECT_NE(output().find("drover.api (--api) is required"), std::string::npos) << output();
  EXPECT_EQ(run({"install", "--api", "https://192.0.2.1:8443", "--token", "t", "--ca-fingerprint", "xyz"}), kExitFailed);
  EXPECT_NE(output().find("bad_ca"), std::string::npos) << output();
  EXPECT_NE(run({"no-such-command"}), 0);
}

TEST_F(AgentCli, InventoryPrintsTheRegisterBody) {
  const auto root = test::sourceDir() / "tests/testdata/agent/qemu";
  ASSERT_EQ(run({"inventory", "--root", root.string()}), 0);
  auto j = json::parse(output(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << output();
  EXPECT_EQ(j["mac"], "52:54:00:12:34:56");
}

}  // namespace
}  // namespace drover::agent
