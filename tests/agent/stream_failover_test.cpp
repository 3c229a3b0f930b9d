// An image on the agent's API failing over between replicas (agent/image_stream.hpp), with
// two fake servers (tests/agent/fake_server.py) standing in for two replicas and a port
// nothing listens on for a dead one: the stream goes on from the byte reached with a Range
// request on the next URL, a 200 answer to that Range gives the same bytes and digest, and
// when every URL fails the error names them all.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "agent/digest.hpp"
#include "agent/image_stream.hpp"
#include "common/metrics.hpp"
#include "tests/agent/compress_util.hpp"
#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;
using test::Bytes;

Bytes readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::string base(const test::TestServer& s) {
  const auto u = s.url("/");
  return u.substr(0, u.size() - 1);
}

// A loopback port nothing listens on: bound, then closed.
int closedPort() {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

std::int64_t failovers() {
  return metrics::Registry::global().valueForTest("agent_image_failovers_total", "");
}

class StreamFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a_.ok() && b_.ok()) << "fake servers did not start";
    for (auto* s : {&a_, &b_}) s->addFile("v1/images/debian/disk/abc", packed_);
  }
  // The image as the plan names it: on a's API URL; the agent knows a, a dead one and b.
  StreamOptions options() {
    StreamOptions o;
    o.url = a_.url("/v1/images/debian/disk/abc");
    o.api_urls = {base(a_), dead_, base(b_)};
    o.sha256 = sha256Hex(packed_);
    o.size = packed_.size();
    o.format = "raw.zst";
    o.max_attempts = 2;
    o.backoff_initial = std::chrono::milliseconds(1);
    o.backoff_max = std::chrono::milliseconds(1);
    o.connect_timeout_s = 5;
    o.stall_timeout_s = 5;
    o.sleep = [](std::chrono::milliseconds) {};
    return o;
  }
  Result<StreamResult> stream(const StreamOptions& o) {
    auto sink = FileSink::open(target_);
    if (!sink) return sink.error();
    return streamImage(o, **sink);
  }
  // The Range headers a server was sent for the image, in order.
  static std::vector<std::string> ranges(const test::TestServer& s) {
    std::vector<std::string> out;
    for (const auto& r : s.requests()) out.push_back(r.value("range", ""));
    return out;
  }

  test::TempDir tmp_;
  test::TestServer a_, b_;
  const std::string dead_ = "http://127.0.0.1:" + std::to_string(closedPort());
  const Bytes image_ = test::makeImage(2 * 1024 * 1024 + 77);
  const Bytes packed_ = test::zstdCompress(image_);
  const std::filesystem::path target_ = tmp_.path() / "disk.out";
};

TEST(FailoverUrls, OnlyAnImageOnAnApiUrlFailsOver) {
  const std::vector<std::string> apis = {"https://a:8443", "https://B:8443", "https://c:8443"};
  EXPECT_EQ(failoverUrls("https://b:8443/v1/images/x/disk/1?q=1", apis),
            (std::vector<std::string>{"https://b:8443/v1/images/x/disk/1?q=1",
                                      "https://c:8443/v1/images/x/disk/1?q=1",
                                      "https://a:8443/v1/images/x/disk/1?q=1"}));
  // Another port (the boot HTTP server's /assets), another scheme, another host: no.
  EXPECT_EQ(failoverUrls("http://a:8080/assets/x/disk", apis).size(), 1u);
  EXPECT_EQ(failoverUrls("http://a:8443/v1/images/x", apis).size(), 1u);
  EXPECT_EQ(failoverUrls("https://d:8443/v1/images/x", apis).size(), 1u);
  EXPECT_EQ(failoverUrls("https://a:8443/x", {}).size(), 1u);
  // Default ports are the same URL; IPv6 literals keep their brackets.
  EXPECT_EQ(failoverUrls("https://a/x", {"https://a:443", "https://[2001:db8::1]:443"}),
            (std::vector<std::string>{"https://a/x", "https://[2001:db8::1]:443/x"}));
  EXPECT_EQ(failoverUrls("not a url", apis), std::vector<std::string>{"not a url"});
}

TEST_F(StreamFailoverTest, AReplicaThatDiesMidImageIsReplacedFromTheByteReached) {
  const auto cut = packed_.size() / 3;
  a_.setRoutes({{"FILES", {{"drop_after", cut}, {"drops", 1000}}}});  // dies every time
  const auto before = failovers();
  auto r = stream(options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(readFile(target_), image_);
  EXPECT_EQ(r->sha256, sha256Hex(packed_));
  EXPECT_EQ(r->bytes, packed_.size());
  // a, then the dead one (refused at once), then b from the byte a reached.
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->failovers, 2);
  EXPECT_EQ(r->url, base(b_) + "/v1/images/debian/disk/abc");
  EXPECT_EQ(failovers() - before, 2);
  EXPECT_EQ(ranges(a_), std::vector<std::string>{""});
  EXPECT_EQ(ranges(b_), std::vector<std::string>{"bytes=" + std::to_string(cut) + "-"});
}

TEST_F(StreamFailoverTest, AReplicaAnsweringRangeWithTheWholeImageGivesTheSameBytes) {
  const auto cut = packed_.size() / 2;
  a_.setRoutes({{"FILES", {{"drop_after", cut}, {"drops", 1000}}}});
  b_.setRoutes({{"FILES", {{"no_range", 1}}}});  // 200 and every byte from the first
  auto o = options();
  o.api_urls = {base(a_), base(b_)};
  auto r = stream(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(readFile(target_), image_);  // the first half neither written nor hashed twice
  EXPECT_EQ(r->sha256, sha256Hex(packed_));
  EXPECT_EQ(r->bytes, packed_.size());
  EXPECT_EQ(r->failovers, 1);
  EXPECT_EQ(ranges(b_), std::vector<std::string>{"bytes=" + std::to_string(cut) + "-"});
}

TEST_F(StreamFailoverTest, WhenEveryReplicaFailsTheErrorNamesThemAll) {
  for (auto* s : {&a_, &b_}) s->setRoutes({{"FILES", {{"fail_first", 1000}}}});
  auto o = options();
  o.max_attempts = 1;  // still one attempt per URL
  auto r = stream(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "retries_exhausted");
  const auto& m = r.error().message;
  std::printf("every URL failed: %s\n", m.c_str());
  EXPECT_NE(m.find(o.url + " and 2 other API URL(s) (" + dead_ + "/v1/images/debian/disk/abc, " +
                   base(b_) + "/v1/images/debian/disk/abc): gave up after 3 attempts"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("HTTP 500) at byte 0"), std::string::npos) << m;
  EXPECT_EQ(a_.requests().size(), 1u);
  EXPECT_EQ(b_.requests().size(), 1u);
}

}  // namespace
}  // namespace drover::agent
