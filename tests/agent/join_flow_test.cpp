// Join mode against the fake server with a fake exec: joined once, idempotent afterwards.
#include "agent/join.hpp"

#include <gtest/gtest.h>

#include "agent/installed_root.hpp"
#include "agent/seed.hpp"
#include "tests/agent/efi_load_options.hpp"
#include "tests/agent/join_fixture.hpp"
#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;

class JoinFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok());
    server_.setRoutes({
        {"GET /v1/agent/join",
         {{{"json",
            {{"runtime", "containerd"},
             {"recipe", "etcd-member"},
             {"steps",
              {{{"run", {"prepare", "${DROVER_NODE}"}}},
               {{"ctr_run", {{"image", "etcd"}, {"id", "etcd"}}}}}}}}}}},
        {"POST /v1/agent/events", {{{"json", json::object()}}}},
        {"POST /v1/agent/heartbeat", {{{"json", json::object()}}}},
    });
    ASSERT_TRUE(joinAgainstTestServer(server_, tmp_.path(), "cred-j", "master-1", opt_));
    opt_.exec = [this](const ExecRequest& r) -> Result<int> {
      calls_.push_back(r.argv);
      return 0;
    };
  }

  int count(const std::string& path, const std::string& phase = "") {
    int n = 0;
    for (const auto& r : server_.requests()) {
      if (r["path"] != path) continue;
      if (phase.empty() || json::parse(r["body"].get<std::string>())["phase"] == phase) ++n;
    }
    return n;
  }

  test::TempDir tmp_;
  test::TestServer server_;
  JoinOptions opt_;
  std::vector<std::vector<std::string>> calls_;
};

TEST_F(JoinFlow, JoinsOnceThenOnlyRestartsContainers) {
  auto st = runJoin(opt_);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[0], (std::vector<std::string>{"prepare", "master-1"}));
  EXPECT_TRUE(std::filesystem::exists(opt_.marker));
  EXPECT_EQ(count("/v1/agent/events", "joined"), 1);
  EXPECT_EQ(count("/v1/agent/heartbeat"), 2);
  for (const auto& r : server_.requests()) EXPECT_EQ(r["authorization"], "Bearer cred-j");

  calls_.clear();
  st = runJoin(opt_);  // next boot
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[0][calls_[0].size() - 2], "rm");   // stale container removed
  EXPECT_EQ(calls_[1].back(), "etcd");                // and run again
  EXPECT_EQ(count("/v1/agent/events", "joined"), 1);  // not joined twice
}

TEST_F(JoinFlow, FailingStepReportsFailedAndLeavesNoMarker) {
  opt_.exec = [](const ExecRequest&) -> Result<int> { return 2; };
  auto st = runJoin(opt_);
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(std::filesystem::exists(opt_.marker));
  EXPECT_EQ(count("/v1/agent/events", "failed"), 1);
  EXPECT_EQ(count("/v1/agent/events", "joined"), 0);
}

// A heartbeat answer that asks for a reinstall: BootNext to the NIC's PXE entry, the reports
// carry the request's id, one reboot although the request is answered three times.
TEST_F(JoinFlow, AReinstallRequestSetsBootNextAndRebootsOnce) {
  using namespace efi::testing;
  const json request = {{"action", "reinstall"}, {"id", "r-7"}, {"mac", "52:54:00:12:34:56"}};
  server_.setRoutes({
      {"GET /v1/agent/join", {{{"json", {{"runtime", "containerd"}, {"steps", json::array()}}}}}},
      {"POST /v1/agent/events", {{{"json", json::object()}}}},
      {"POST /v1/agent/heartbeat",
       {{{"json", json::object()}}, {{"json", request}}, {{"json", request}}, {{"json", request}}}},
  });
  const auto efi_dir = tmp_.path() / "efi";
  ::drover::test::writeFile(efi_dir / "efivars" / efi::variableFile("Boot0000"),
                            efivarfsFile(disk()));
  ::drover::test::writeFile(efi_dir / "efivars" / efi::variableFile("Boot0002"),
                            efivarfsFile(pxe4()));
  int reboots = 0;
  opt_.network_reboot = {efi_dir, efi_dir / "efivars", [&] {
                           ++reboots;
                           return Status{};
                         }};
  opt_.max_heartbeats = 4;
  auto st = runJoin(opt_);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(reboots, 1);
  EXPECT_EQ(efi::readBootNext(efi_dir / "efivars"), 2);
  EXPECT_EQ(count("/v1/agent/events", "boot_next"), 1);
  EXPECT_EQ(count("/v1/agent/events", "reboot_network"), 1);
  for (const auto& r : server_.requests()) {
    auto body = json::parse(r["body"].get<std::string>(), nullptr, false);
    if (body.is_object() && body.value("phase", "") == "reboot_network") {
      EXPECT_EQ(body.value("id", ""), "r-7");
    }
  }
}

TEST_F(JoinFlow, MissingConfigIsAClearError) {
  opt_.config = tmp_.path() / "nope.json";
  auto st = runJoin(opt_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "config");
}

}  // namespace
}  // namespace drover::agent
