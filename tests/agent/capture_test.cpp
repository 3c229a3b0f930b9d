// The agent's capture pieces: the zstd encoder with both digests (decoded back with the
// install's decompressor) and the capture plan parser.
#include <random>

#include <gtest/gtest.h>

#include "agent/capture.hpp"
#include "agent/decompress.hpp"
#include "agent/digest.hpp"

namespace drover::agent {
namespace {

std::vector<std::uint8_t> diskBytes(std::size_t n) {
  std::vector<std::uint8_t> d(n);
  std::mt19937 rng(42);
  for (std::size_t i = 0; i < n; ++i) d[i] = i % 3 == 0 ? static_cast<std::uint8_t>(rng()) : 0;
  return d;
}

TEST(CaptureEncoder, StreamsZstdAndHashesBothSides) {
  const auto raw = diskBytes(3 * 1024 * 1024 + 17);
  CaptureEncoder enc(3);
  std::vector<std::uint8_t> z;
  std::size_t pieces = 0;
  auto collect = [&](std::span<const std::uint8_t> p) -> Status {
    z.insert(z.end(), p.begin(), p.end());
    ++pieces;
    return {};
  };
  for (std::size_t off = 0; off < raw.size(); off += 100000) {  // fed in odd-sized reads
    const std::size_t n = std::min<std::size_t>(100000, raw.size() - off);
    ASSERT_TRUE(enc.feed({raw.data() + off, n}, collect));
  }
  ASSERT_TRUE(enc.finish(collect));
  EXPECT_GT(pieces, 1u);  // compressed output leaves while the input is still being read
  EXPECT_EQ(enc.rawBytes(), raw.size());
  EXPECT_EQ(enc.bytes(), z.size());
  EXPECT_LT(z.size(), raw.size());
  EXPECT_EQ(enc.rawSha256(), sha256Hex(raw));
  EXPECT_EQ(enc.sha256(), sha256Hex(z));

  AutoDecompressor dec(Compression::Zstd);
  std::vector<std::uint8_t> back;
  auto out = [&](std::span<const std::uint8_t> p) -> Status {
    back.insert(back.end(), p.begin(), p.end());
    return {};
  };
  ASSERT_TRUE(dec.feed(z, out));
  ASSERT_TRUE(dec.finish(out));
  EXPECT_EQ(back, raw);
}

TEST(CaptureEncoder, AnEmptyDiskIsAValidStream) {
  CaptureEncoder enc;
  std::vector<std::uint8_t> z;
  ASSERT_TRUE(enc.finish([&](std::span<const std::uint8_t> p) -> Status {
    z.insert(z.end(), p.begin(), p.end());
    return {};
  }));
  EXPECT_FALSE(z.empty());
  EXPECT_EQ(enc.rawSha256(), sha256Hex({}));
}

TEST(CaptureEncoder, AnOutputErrorStopsTheFeed) {
  CaptureEncoder enc;
  const auto raw = diskBytes(1 << 20);
  auto st = enc.feed(raw, [](std::span<const std::uint8_t>) -> Status { return makeError("http_status", "x"); });
  auto fin = enc.finish([](std::span<const std::uint8_t>) -> Status { return makeError("http_status", "x"); });
  EXPECT_FALSE(st && fin);
}

TEST(CapturePlanParse, ReadsThePlan) {
  auto p = parseCapturePlan(R"({"action":"capture","capture":{"image":"n1-capture","disk":"/dev/vda",
      "upload_url":"https://192.0.2.1:8443/v1/agent/capture/","token":"n1.abc","chunk_bytes":65536}})");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->image, "n1-capture");
  EXPECT_EQ(p->disk, "/dev/vda");
  EXPECT_EQ(p->upload_url, "https://192.0.2.1:8443/v1/agent/capture");
  EXPECT_EQ(p->token, "n1.abc");
  EXPECT_EQ(p->chunk_bytes, 65536u);
}

TEST(CapturePlanParse, RefusesOtherPlansAndBadFields) {
  EXPECT_EQ(parseCapturePlan(R"({"action":"install","image":{}})").error().code, "not_capture");
  EXPECT_EQ(parseCapturePlan("not json").error().code, "bad_reply");
  EXPECT_EQ(parseCapturePlan(R"({"action":"capture","capture":{"image":"x","disk":"/dev/vda","token":"t"}})")
                .error().code,
            "bad_reply");  // no upload_url
  EXPECT_EQ(parseCapturePlan(R"({"action":"capture","capture":{"image":"x","disk":"/dev/vda","token":"t",
      "upload_url":"https://h/c","chunk_bytes":0}})").error().code,
            "bad_reply");
}

}  // namespace
}  // namespace drover::agent
