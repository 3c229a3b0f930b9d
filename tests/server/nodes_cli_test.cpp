// drover nodes / node / reinstall against an in-process drover serve.
#include <netinet/in.h>
#include <sys/socket.h>

#include <sstream>

#include "cli/commands.hpp"
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class NodesCliTest : public ServeTest {
 protected:
  cli::ApiTarget target() const {
    return {.api = app_->api(), .state_dir = app_->app().stateDir().string()};
  }
  struct Run {
    int code;
    std::string out;
    std::string err;
  };
  template <typename Fn>
  Run run(Fn fn) {
    std::ostringstream out, err;
    int code = fn(out, err);
    return {code, out.str(), err.str()};
  }
};

TEST_F(NodesCliTest, NodesPrintsAnAlignedTable) {
  install(kMac1);
  auto r = run([&](auto& o, auto& e) { return cli::runNodes(target(), false, o, e); });
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header, row1, row2;
  std::getline(lines, header);
  std::getline(lines, row1);
  std::getline(lines, row2);
  EXPECT_THAT(header, ::testing::MatchesRegex("NAME +STATE +IP +MAC +PROFILE +LAST-EVENT +AGE"));
  EXPECT_THAT(row1, ::testing::MatchesRegex(
                        "node-1 +installed +192\\.0\\.2\\.10 +52:54:00:12:34:56 +server +installed +[0-9]+s"));
  EXPECT_THAT(row2, ::testing::MatchesRegex("node-2 +new +192\\.0\\.2\\.11 +52:54:00:12:34:57 +server +- +-"));
  // Columns line up: every column starts at the same offset on every line.
  EXPECT_EQ(header.find("STATE"), row1.find("installed"));
  EXPECT_EQ(header.find("MAC"), row2.find("52:54"));

  auto j = run([&](auto& o, auto& e) { return cli::runNodes(target(), true, o, e); });
  ASSERT_EQ(j.code, 0);
  auto parsed = nlohmann::json::parse(j.out);
  ASSERT_TRUE(parsed.is_array());
  EXPECT_EQ(parsed[0]["state"], "installed");
}

TEST_F(NodesCliTest, NodeShowsFactsAndTheTimeline) {
  auto cred = credentialFor(kMac1);
  auto facts = nlohmann::json{{"mac", kMac1},
                              {"cpu", {{"model", "QEMU Virtual CPU"}, {"count", 2}}},
                              {"memory_bytes", 1073741824},
                              {"disks", {{{"name", "vda"}, {"size_bytes", 10737418240}}}}};
  ASSERT_EQ(apiCall("POST", "/v1/agent/register", cred, facts.dump()).status, 200);
  event(cred, "image_written", "4096 bytes");
  auto r = run([&](auto& o, auto& e) { return cli::runNode(target(), "node-1", false, o, e); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state:"));
  EXPECT_THAT(r.out, HasSubstr("installing for "));
  EXPECT_THAT(r.out, HasSubstr("2 cpus (QEMU Virtual CPU); 1.0 GiB memory; disks: vda 10.0 GiB"));
  EXPECT_THAT(r.out, HasSubstr("timeline:"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("[0-9]+s ago +script_served +install"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("ago +image_written +4096 bytes"));

  auto missing = run([&](auto& o, auto& e) { return cli::runNode(target(), "nope", false, o, e); });
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no such node"));
}

TEST_F(NodesCliTest, ReinstallMakesTheNextBootInstall) {
  install(kMac1);
  auto r = run([&](auto& o, auto& e) { return cli::runReinstall(target(), "node-1", o, e); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("reinstall requested"));
  EXPECT_THAT(script(kMac1), HasSubstr("drover.mode=install"));
}

TEST_F(NodesCliTest, ConfigGivesTheAddressAndStateDir) {
  // A fixed free port, so the declaration itself names where the API is.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  app_->stop();
  writeFile(config_, clusterYaml(dir_.path(), "discover", "", "127.0.0.1:" + std::to_string(port)));
  app_ = std::make_unique<RunningApp>(config_);
  ASSERT_TRUE(app_->ok());
  auto r = run([&](auto& o, auto& e) { return cli::runNodes({.config = config_.string()}, false, o, e); });
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("node-2"));
}

TEST_F(NodesCliTest, ClearErrorsForAWrongTokenOrNoServer) {
  auto t = target();
  t.token = "not-the-token";
  auto r = run([&](auto& o, auto& e) { return cli::runNodes(t, false, o, e); });
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("refused the operator token from --token"));

  auto gone = target();
  const auto api = app_->api();
  app_->stop();
  auto down = run([&](auto& o, auto& e) { return cli::runNodes(gone, false, o, e); });
  EXPECT_EQ(down.code, 2);
  EXPECT_THAT(down.err, HasSubstr("cannot reach the API at " + api));

  auto nowhere = run([&](auto& o, auto& e) { return cli::runNodes({}, false, o, e); });
  EXPECT_EQ(nowhere.code, 1);
  EXPECT_THAT(nowhere.err, HasSubstr("--config FILE or --api URL"));
}

TEST(FormatAge, ReadsLikeADuration) {
  EXPECT_EQ(cli::formatAge(0), "0s");
  EXPECT_EQ(cli::formatAge(45'999), "45s");
  EXPECT_EQ(cli::formatAge(192'000), "3m12s");
  EXPECT_EQ(cli::formatAge(7'500'000), "2h05m");
  EXPECT_EQ(cli::formatAge(3 * 86'400'000LL + 4 * 3'600'000LL), "3d4h");
  EXPECT_EQ(cli::formatAge(-5), "0s");
}

}  // namespace
}  // namespace drover::server::testing
