// Image streaming against a real HTTP server (tests/agent/fake_server.py on 127.0.0.1):
// exact bytes for every format, sha256 refusal, resume after a drop, retries.
#include "agent/image_stream.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "agent/digest.hpp"
#include "tests/agent/compress_util.hpp"
#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using test::Bytes;

Bytes readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << "fake server did not start"; }

  StreamOptions options(const std::string& name, const Bytes& served, const std::string& query = "") {
    StreamOptions o;
    o.url = server_.url("/" + name + query);
    o.sha256 = sha256Hex(served);
    o.size = served.size();
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(50);
    o.connect_timeout_s = 10;
    o.stall_timeout_s = 10;
    return o;
  }

  Result<StreamResult> streamTo(const StreamOptions& o, const std::filesystem::path& target) {
    auto sink = FileSink::open(target);
    if (!sink) return sink.error();
    return streamImage(o, **sink);
  }

  test::TempDir tmp_;
  test::TestServer server_;
  const Bytes image_ = test::makeImage(3 * 1024 * 1024 + 123);
};

TEST_F(StreamTest, ExactBytesForEveryFormat) {
  struct Case {
    std::string name, format;
    Bytes served;
    Compression c;
  };
  std::vector<Case> cases = {{"disk.raw", "raw", image_, Compression::Raw},
                             {"disk.raw.zst", "raw.zst", test::zstdCompress(image_), Compression::Zstd},
                             {"disk.raw.xz", "raw.xz", test::xzCompress(image_), Compression::Xz},
                             {"disk.raw.gz", "raw.gz", test::gzipCompress(image_), Compression::Gzip}};
  for (auto& c : cases) {
    server_.addFile(c.name, c.served);
    auto o = options(c.name, c.served);
    o.format = c.format;
    std::vector<StreamProgress> progress;
    o.progress_interval = std::chrono::milliseconds(0);
    o.on_progress = [&](const StreamProgress& p) { progress.push_back(p); };
    const auto target = tmp_.path() / (c.name + ".out");
    auto r = streamTo(o, target);
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.error().message;
    EXPECT_EQ(r->compression, c.c);
    EXPECT_EQ(r->bytes, c.served.size());
    EXPECT_EQ(r->written, image_.size());
    EXPECT_EQ(r->sha256, sha256Hex(c.served));
    EXPECT_EQ(readFile(target), image_) << c.name;
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back().bytes, c.served.size());
    EXPECT_EQ(progress.back().total, c.served.size());
  }
}

TEST_F(StreamTest, Sha256MismatchIsRefused) {
  const Bytes packed = test::zstdCompress(image_);
  server_.addFile("bad.raw.zst", packed);
  auto o = options("bad.raw.zst", packed);
  o.sha256 = std::string(64, '0');
  auto sink = FileSink::open(tmp_.path() / "bad.out");
  ASSERT_TRUE(sink.ok());
  auto r = streamImage(o, **sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sha256_mismatch");
  EXPECT_NE(r.error().message.find(sha256Hex(packed)), std::string::npos);
}

TEST_F(StreamTest, MissingSha256IsRefused) {
  server_.addFile("x.raw", image_);
  auto o = options("x.raw", image_);
  o.sha256.clear();
  NullSink sink;
  auto r = streamImage(o, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "missing_sha256");
}

TEST_F(StreamTest, DroppedConnectionResumesExactly) {
  for (const auto& [name, served] : std::vector<std::pair<std::string, Bytes>>{
           {"drop.raw.xz", test::xzCompress(image_)}, {"drop.raw.zst", test::zstdCompress(image_)},
           {"drop.raw", image_}}) {
    server_.addFile(name, served);
    // Three drops, each after a quarter of what is left.
    const std::string q = "?drop_after=" + std::to_string(served.size() / 4) + "&drops=3";
    auto o = options(name, served, q);
    const auto target = tmp_.path() / (name + ".out");
    auto r = streamTo(o, target);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    EXPECT_EQ(r->attempts, 4);
    EXPECT_EQ(r->resumes, 3);
    EXPECT_EQ(readFile(target), image_) << name;
  }
  // Only the remaining bytes were asked for on each resume.
  int ranged = 0;
  for (const auto& req : server_.requests()) {
    if (!req["range"].get<std::string>().empty()) ++ranged;
  }
  EXPECT_EQ(ranged, 9);
}

TEST_F(StreamTest, ServerIgnoringRangeStillGivesExactBytes) {
  const Bytes packed = test::gzipCompress(image_);
  server_.addFile("norange.raw.gz", packed);
  auto o = options("norange.raw.gz", packed,
                   "?drop_after=" + std::to_string(packed.size() / 3) + "&no_range=1");
  const auto target = tmp_.path() / "norange.out";
  auto r = streamTo(o, target);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(readFile(target), image_);
}

TEST_F(StreamTest, Server500IsRetried) {
  const Bytes packed = test::zstdCompress(image_);
  server_.addFile("flaky.raw.zst", packed);
  auto o = options("flaky.raw.zst", packed, "?fail_first=2");
  std::vector<std::chrono::milliseconds> sleeps;
  o.sleep = [&](std::chrono::milliseconds d) { sleeps.push_back(d); };
  const auto target = tmp_.path() / "flaky.out";
  auto r = streamTo(o, target);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->attempts, 3);
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], std::chrono::milliseconds(10));  // exponential backoff
  EXPECT_EQ(sleeps[1], std::chrono::milliseconds(20));
  EXPECT_EQ(readFile(target), image_);
}

TEST_F(StreamTest, PersistentFailureGivesUp) {
  server_.addFile("dead.raw", image_);
  auto o = options("dead.raw", image_, "?fail_first=1000");
  o.max_attempts = 3;
  o.sleep = [](std::chrono::milliseconds) {};
  NullSink sink;
  auto r = streamImage(o, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "retries_exhausted");
  EXPECT_NE(r.error().message.find("500"), std::string::npos);
}

TEST_F(StreamTest, StalledTransferTimesOutAndIsRetried) {
  server_.addFile("stall.raw", image_);
  auto o = options("stall.raw", image_, "?stall_first=4");
  o.stall_timeout_s = 1;
  const auto target = tmp_.path() / "stall.out";
  auto r = streamTo(o, target);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(readFile(target), image_);
}

TEST_F(StreamTest, NotFoundIsNotRetried) {
  auto o = options("missing.raw", image_);
  NullSink sink;
  auto r = streamImage(o, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "http_status");
}

TEST_F(StreamTest, TooSmallTargetIsAClearError) {
  const Bytes packed = test::xzCompress(image_);
  server_.addFile("big.raw.xz", packed);
  auto o = options("big.raw.xz", packed);
  FileSinkOptions so;
  so.limit = image_.size() / 2;
  auto sink = FileSink::open(tmp_.path() / "small.out", so);
  ASSERT_TRUE(sink.ok());
  auto r = streamImage(o, **sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "image_too_large");
}

TEST_F(StreamTest, DryRunVerifiesWithoutWriting) {
  const Bytes packed = test::zstdCompress(image_);
  server_.addFile("dry.raw.zst", packed);
  NullSink sink;
  auto r = streamImage(options("dry.raw.zst", packed), sink);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->written, image_.size());
}

TEST_F(StreamTest, WrongFormatInPlanIsRefused) {
  const Bytes packed = test::gzipCompress(image_);
  server_.addFile("fmt.raw.gz", packed);
  auto o = options("fmt.raw.gz", packed);
  o.format = "raw.zst";
  NullSink sink;
  auto r = streamImage(o, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "format_mismatch");
}

TEST(StreamFormat, ContentRange) {
  auto r = parseContentRange(" bytes 100-999/1000\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->start, 100u);
  EXPECT_EQ(r->total, 1000u);
  r = parseContentRange("bytes 5-9/*");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->start, 5u);
  EXPECT_EQ(r->total, 0u);
  EXPECT_FALSE(parseContentRange("bytes */1000").has_value());
  EXPECT_FALSE(parseContentRange("items 1-2/3").has_value());
  EXPECT_FALSE(parseContentRange("bytes 99999999999999999999999-1/2").has_value());
}

TEST(StreamFormat, ProgressLine) {
  StreamProgress p;
  p.bytes = 512ull << 20;
  p.total = 1ull << 30;
  p.rate = 80.0 * (1 << 20);
  EXPECT_EQ(formatProgress(p), " 50.0% 512.0 MiB / 1.0 GiB  80.0 MiB/s");
}

}  // namespace
}  // namespace drover::agent
