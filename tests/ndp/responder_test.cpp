// The router-solicitation responder against a real peer: rdisc6 (ndisc6) in a second
// network namespace solicits over a veth pair and must get an advertisement that
// announces nothing (router lifetime 0, no DHCPv6 flags, no prefix).
#include <signal.h>

#include <memory>

#include <gtest/gtest.h>

#include "tests/support/netns.hpp"

namespace drover::ndp {
namespace {

using namespace drover::dhcp::test;

class NdpResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    if (!haveTool("/usr/bin/rdisc6")) GTEST_SKIP() << "rdisc6 (ndisc6) not installed";
    const std::string tag = std::to_string(::getpid());
    server_if_ = "ndps" + tag;
    client_if_ = "ndpc" + tag;
    server_ = std::make_unique<Netns>(server_if_);
    client_ = std::make_unique<Netns>(client_if_);
    ASSERT_TRUE(server_->ok() && client_->ok());
    ASSERT_TRUE(link(*server_, server_if_, *client_, client_if_));
    // Both ends need their link-local address out of duplicate address detection.
    ASSERT_TRUE(waitFor([&] {
      return linkLocalReady(*server_, server_if_) && linkLocalReady(*client_, client_if_);
    }));
  }

  bool linkLocalReady(const Netns& ns, const std::string& ifname) {
    const std::string out = dir_ + "ndp-addr-" + ifname + ".txt";
    ns.run("sh -c 'ip -6 addr show dev " + ifname + " scope link > " + out + "'");
    auto text = readFile(out);
    return text.find("fe80::") != std::string::npos && text.find("tentative") == std::string::npos;
  }

  // Starts the responder in the server namespace and waits for its READY line.
  std::unique_ptr<Process> startResponder(const std::string& log) {
    auto p = std::make_unique<Process>(
        server_->exec({binaryDir() + "/tests/ndp_harness", "--interface", server_if_}), log);
    EXPECT_TRUE(
        waitFor([&] { return readFile(log).find("READY") != std::string::npos || !p->running(); }));
    return p;
  }

  // rdisc6 in the client namespace; returns its output, or "" if it got no answer.
  std::string solicit() {
    const std::string out = dir_ + "ndp-rdisc6-" + client_if_ + ".txt";
    int rc = client_->run("sh -c 'rdisc6 -1 -r 3 -w 1000 " + client_if_ + " > " + out + " 2>&1'");
    return rc == 0 ? readFile(out) : "";
  }

  std::unique_ptr<Netns> server_, client_;
  std::string server_if_, client_if_;
  std::string dir_ = ::testing::TempDir();
};

TEST_F(NdpResponderTest, AnswersRdisc6WithAnAdvertisementThatAnnouncesNothing) {
  const std::string log = dir_ + "ndp-harness-" + server_if_ + ".log";
  auto responder = startResponder(log);
  ASSERT_TRUE(responder->running()) << readFile(log);
  EXPECT_NE(readFile(log).find("READY " + server_if_), std::string::npos) << readFile(log);

  for (int i = 0; i < 3; ++i) {  // each solicitation gets its own answer
    auto answer = solicit();
    ASSERT_FALSE(answer.empty()) << "no advertisement; harness log:\n" << readFile(log);
    EXPECT_NE(answer.find("0 (0x00000000) seconds"), std::string::npos)
        << answer;  // router lifetime
    EXPECT_NE(answer.find("Stateful address conf.    :           No"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("Prefix"), std::string::npos) << answer;
  }

  responder->signal(SIGTERM);
  EXPECT_EQ(responder->wait(), 0);
  auto metrics = readFile(log);
  EXPECT_NE(metrics.find("drover_ndp_advertisements_total 3"), std::string::npos) << metrics;
}

TEST_F(NdpResponderTest, SkipsAnInterfaceWithIpv6Disabled) {
  ASSERT_EQ(server_->run("sysctl -qw net.ipv6.conf." + server_if_ + ".disable_ipv6=1"), 0);
  const std::string log = dir_ + "ndp-harness-off-" + server_if_ + ".log";
  auto responder = startResponder(log);
  EXPECT_NE(readFile(log).find("READY\n"), std::string::npos) << readFile(log);
  EXPECT_TRUE(solicit().empty());
  responder->signal(SIGTERM);
  EXPECT_EQ(responder->wait(), 0);
}

}  // namespace
}  // namespace drover::ndp
