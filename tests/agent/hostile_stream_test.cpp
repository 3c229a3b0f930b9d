// The image download against a server that lies, stalls, floods, redirects or is not the
// one the agent trusts (tests/agent/fake_server.py on 127.0.0.1): every case ends in a clear
// error code, a counted failure, and a target that holds no unverified image.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "agent/digest.hpp"
#include "agent/image_stream.hpp"
#include "common/certificate.hpp"
#include "common/metrics.hpp"
#include "tests/agent/compress_util.hpp"
#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using test::Bytes;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

Bytes readBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::int64_t failures(const std::string& reason) {
  return metrics::Registry::global().valueForTest("agent_image_failures_total",
                                                  "reason=\"" + reason + "\"");
}

bool allZero(const Bytes& b, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to && i < b.size(); ++i)
    if (b[i] != 0) return false;
  return true;
}

class HostileStream : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << "fake server did not start"; }

  StreamOptions options(const std::string& path, const Bytes& served) const {
    StreamOptions o;
    o.url = server_.url(path);
    o.sha256 = sha256Hex(served);
    o.size = served.size();
    o.backoff_initial = std::chrono::milliseconds(5);
    o.backoff_max = std::chrono::milliseconds(20);
    o.connect_timeout_s = 5;
    o.stall_timeout_s = 5;
    return o;
  }

  Result<StreamResult> streamTo(const StreamOptions& o, const fs::path& target,
                                std::optional<std::uint64_t> limit = std::nullopt) {
    FileSinkOptions so;
    so.limit = limit;
    auto sink = FileSink::open(target, so);
    if (!sink) return sink.error();
    return streamImage(o, **sink);
  }

  test::TempDir tmp_;
  test::TestServer server_;
  // Larger than the sink's 4 MiB batch, so bytes reach the target before the digest fails.
  const Bytes image_ = test::makeImage(9 * 1024 * 1024 + 77);
};

TEST_F(HostileStream, DigestMismatchLeavesNoBootableBytes) {
  server_.addFile("evil.raw", image_);
  auto o = options("/evil.raw", image_);
  o.sha256 = sha256Hex(test::makeImage(16, 2));  // what the plan promised: something else
  const auto before = failures("sha256_mismatch");
  const auto target = tmp_.path() / "disk";
  auto r = streamTo(o, target);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sha256_mismatch");
  EXPECT_EQ(failures("sha256_mismatch"), before + 1);
  const Bytes disk = readBytes(target);
  // Two 4 MiB batches reached the file; its first and last MiB are zeroed.
  ASSERT_EQ(disk.size(), 8u * 1024 * 1024);
  EXPECT_TRUE(allZero(disk, 0, kDiscardBytes));
  EXPECT_TRUE(allZero(disk, disk.size() - kDiscardBytes, disk.size()));
  EXPECT_GE(metrics::Registry::global().valueForTest("agent_image_discarded_total"), 1);
}

TEST_F(HostileStream, StallMidBodyTimesOutAndResumes) {
  server_.addFile("stall.raw.zst", test::zstdCompress(image_));
  const Bytes served = test::zstdCompress(image_);
  auto o = options("/stall.raw.zst?stall_mid=30", served);
  o.stall_timeout_s = 1;
  const auto t0 = Clock::now();
  auto r = streamTo(o, tmp_.path() / "disk");
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("stall mid-body: low-speed limit fired and the resume finished in %.2f s\n", secs);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->resumes, 1);
  EXPECT_EQ(readBytes(tmp_.path() / "disk"), image_);
}

TEST_F(HostileStream, ContentLengthLies) {
  server_.addFile("cl.raw", image_);
  // With the plan's size the lie does not matter: the digest over those bytes decides.
  auto o = options("/cl.raw?cl_extra=100000", image_);
  auto r = streamTo(o, tmp_.path() / "ok");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(readBytes(tmp_.path() / "ok"), image_);
  // Without it, the missing bytes are asked for and never come: a clear failure.
  o.size = 0;
  r = streamTo(o, tmp_.path() / "short");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "http_status") << r.error().message;
  EXPECT_TRUE(allZero(readBytes(tmp_.path() / "short"), 0, kDiscardBytes));
}

TEST_F(HostileStream, EndlessStreamIsBoundedByTheTarget) {
  // Skippable zstd frames decompress to nothing: only the served-bytes bound stops them.
  // One real frame (one byte out) so the stream is zstd, then a 64 KiB skippable frame.
  Bytes endless = test::zstdCompress(Bytes{7});
  const Bytes skippable_header = {0x50, 0x2a, 0x4d, 0x18, 0x00, 0x00, 0x01, 0x00};
  endless.insert(endless.end(), skippable_header.begin(), skippable_header.end());
  endless.resize(endless.size() + 65536, 0);
  server_.addFile("endless.zst", endless);
  server_.addFile("endless.raw", test::makeImage(1 << 20, 3));
  const std::uint64_t limit = 4 * 1024 * 1024;
  for (const char* path : {"/endless.zst?endless=1", "/endless.raw?endless=1"}) {
    auto o = options(path, {});
    o.size = 0;
    o.sha256 = std::string(64, 'a');
    const auto t0 = Clock::now();
    auto r = streamTo(o, tmp_.path() / "disk", limit);
    std::printf("%s: refused after %.2f s\n", path,
                std::chrono::duration<double>(Clock::now() - t0).count());
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.error().code, "image_too_large") << path << ": " << r.error().message;
    EXPECT_LE(fs::file_size(tmp_.path() / "disk"), limit);
  }
}

TEST_F(HostileStream, DecompressionBombsStopAtTheTargetSize) {
  const Bytes zeros(24 * 1024 * 1024, 0);
  const std::uint64_t limit = 2 * 1024 * 1024;
  struct Case {
    const char* name;
    Bytes served;
  };
  const std::vector<Case> cases = {{"bomb.raw.zst", test::zstdCompress(zeros)},
                                   {"bomb.raw.xz", test::xzCompress(zeros)},
                                   {"bomb.raw.gz", test::gzipCompress(zeros)}};
  for (const auto& c : cases) {
    server_.addFile(c.name, c.served);
    // The plan is consistent with the bomb (size, digest): only the target's size stops it.
    auto o = options(std::string("/") + c.name, c.served);
    const auto target = tmp_.path() / c.name;
    auto r = streamTo(o, target, limit);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, "image_too_large") << c.name << ": " << r.error().message;
    EXPECT_LE(fs::file_size(target), limit) << c.name;
    std::printf("%s: %zu bytes served would inflate to %zu; stopped at the %llu-byte target\n",
                c.name, c.served.size(), zeros.size(), static_cast<unsigned long long>(limit));
  }
}

TEST_F(HostileStream, ImageLargerThanTheDisk) {
  server_.addFile("big.raw", image_);
  // The plan says so: refused before a byte is asked for.
  auto o = options("/big.raw", image_);
  auto r = streamTo(o, tmp_.path() / "planned", 1024 * 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "image_too_large") << r.error().message;
  EXPECT_TRUE(server_.requests().empty());
  // The plan does not say: the target's end stops it.
  o.size = 0;
  r = streamTo(o, tmp_.path() / "unplanned", 4 * 1024 * 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "image_too_large") << r.error().message;
  EXPECT_LE(fs::file_size(tmp_.path() / "unplanned"), 4u * 1024 * 1024);
}

TEST_F(HostileStream, EndlessRedirectsStop) {
  server_.setRoutes({{"GET /loop", {{{"status", 302}, {"headers", {{"Location", "/loop"}}}}}}});
  auto o = options("/loop", image_);
  auto r = streamTo(o, tmp_.path() / "disk");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "redirect") << r.error().message;
  EXPECT_LE(server_.requests().size(), 6u);  // the first request and five redirects, once
}

TEST_F(HostileStream, RedirectsToOtherSchemesAreRefused) {
  for (const char* to : {"file:///etc/passwd", "ftp://127.0.0.1/disk.raw", "gopher://127.0.0.1/"}) {
    server_.setRoutes({{"GET /away", {{{"status", 302}, {"headers", {{"Location", to}}}}}}});
    auto o = options("/away", image_);
    auto r = streamTo(o, tmp_.path() / "disk");
    ASSERT_FALSE(r.ok()) << to;
    EXPECT_EQ(r.error().code, "bad_url") << to << ": " << r.error().message;
  }
}

TEST_F(HostileStream, RedirectToAnotherHostStillAnswersToTheDigest) {
  test::TestServer other;
  ASSERT_TRUE(other.ok());
  other.addFile("disk.raw", test::makeImage(image_.size(), 9));
  server_.setRoutes({{"GET /elsewhere",
                      {{{"status", 302}, {"headers", {{"Location", other.url("/disk.raw")}}}}}}});
  auto o = options("/elsewhere", image_);
  auto r = streamTo(o, tmp_.path() / "disk");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sha256_mismatch");
  EXPECT_TRUE(allZero(readBytes(tmp_.path() / "disk"), 0, kDiscardBytes));
}

// Two CAs for the suite (RSA keys are slow to make): the one the agent pins, and another.
class HostileTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dirs_ = new test::TempDir[2];
    pki_ = test::makeTestPki(dirs_[0].path());
    other_ = test::makeTestPki(dirs_[1].path());
  }
  static void TearDownTestSuite() {
    delete[] dirs_;
    dirs_ = nullptr;
  }
  void SetUp() override {
    if (pki_.chain.empty() || other_.chain.empty()) {
      GTEST_SKIP() << "openssl CLI missing (scripts/packages/agent.txt)";
    }
    auto fp = certificateSha256File(pki_.ca);
    ASSERT_TRUE(fp.ok());
    pin_ = *fp;
  }

  static inline test::TempDir* dirs_ = nullptr;
  static inline test::TlsFiles pki_, other_;
  std::string pin_;
  test::TempDir tmp_;
};

TEST_F(HostileTls, DowngradeToHttpIsRefused) {
  test::TestServer tls(pki_);
  test::TestServer plain;
  ASSERT_TRUE(tls.ok() && plain.ok());
  const Bytes image = test::makeImage(1 << 20);
  plain.addFile("disk.raw", image);
  tls.setRoutes({{"GET /disk.raw",
                  {{{"status", 302}, {"headers", {{"Location", plain.url("/disk.raw")}}}}}}});
  StreamOptions o;
  o.url = tls.url("/disk.raw");
  o.sha256 = sha256Hex(image);
  o.tls.ca_fingerprint = pin_;
  NullSink sink;
  auto r = streamImage(o, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_url") << r.error().message;
  EXPECT_EQ(tls.requests().size(), 1u);
  EXPECT_TRUE(plain.requests().empty());
}

TEST_F(HostileTls, ServerOfAnotherCaGetsNothingWritten) {
  test::TestServer impostor(other_);
  ASSERT_TRUE(impostor.ok());
  const Bytes image = test::makeImage(1 << 20);
  impostor.addFile("disk.raw", image);
  StreamOptions o;
  o.url = impostor.url("/disk.raw");
  o.sha256 = sha256Hex(image);  // even the right digest does not make it trusted
  o.tls.ca_fingerprint = pin_;
  std::vector<std::chrono::milliseconds> sleeps;
  o.sleep = [&](std::chrono::milliseconds d) { sleeps.push_back(d); };
  const auto before = failures("tls");
  auto sink = FileSink::open(tmp_.path() / "disk");
  ASSERT_TRUE(sink.ok());
  auto r = streamImage(o, **sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tls") << r.error().message;
  EXPECT_TRUE(sleeps.empty());  // not retried
  EXPECT_EQ(failures("tls"), before + 1);
  EXPECT_EQ(fs::file_size(tmp_.path() / "disk"), 0u);
  EXPECT_TRUE(impostor.requests().empty());  // refused in the handshake
}

}  // namespace
}  // namespace drover::agent
