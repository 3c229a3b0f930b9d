#include "agent/decompress.hpp"

#include <gtest/gtest.h>

#include "agent/digest.hpp"
#include "agent/sink.hpp"
#include "tests/agent/compress_util.hpp"

namespace drover::agent {
namespace {

using test::Bytes;

// Feeds `in` in chunks of `chunk` bytes and returns what came out.
Result<Bytes> run(const Bytes& in, std::size_t chunk, std::optional<Compression> expected = {}) {
  AutoDecompressor d(expected);
  Bytes out;
  auto sink = [&](std::span<const std::uint8_t> o) {
    out.insert(out.end(), o.begin(), o.end());
    return Status{};
  };
  for (std::size_t i = 0; i < in.size(); i += chunk) {
    auto st = d.feed({in.data() + i, std::min(chunk, in.size() - i)}, sink);
    if (!st) return st.error();
  }
  if (auto st = d.finish(sink); !st) return st.error();
  return out;
}

class Formats : public ::testing::TestWithParam<std::size_t> {};

TEST_P(Formats, EveryFormatAnyChunking) {
  const Bytes img = test::makeImage(300 * 1024 + 17);
  for (const Bytes& packed : {img, test::zstdCompress(img), test::xzCompress(img), test::gzipCompress(img)}) {
    auto out = run(packed, GetParam());
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_EQ(*out, img);
  }
}

INSTANTIATE_TEST_SUITE_P(Chunks, Formats, ::testing::Values(1, 5, 4096, 1 << 20));

TEST(Decompress, DetectsByMagic) {
  const Bytes img = test::makeImage(1000);
  auto det = [](const Bytes& b) { return detectCompression(b, true); };
  EXPECT_EQ(det(test::zstdCompress(img)), Compression::Zstd);
  EXPECT_EQ(det(test::xzCompress(img)), Compression::Xz);
  EXPECT_EQ(det(test::gzipCompress(img)), Compression::Gzip);
  EXPECT_EQ(det(img), Compression::Raw);
  EXPECT_EQ(detectCompression(Bytes{0xfd, 0x37}, false), std::nullopt);  // undecided yet
  EXPECT_EQ(detectCompression(Bytes{0xfd, 0x37}, true), Compression::Raw);
}

TEST(Decompress, ConcatenatedStreams) {
  const Bytes a = test::makeImage(5000, 1), b = test::makeImage(7000, 2);
  Bytes both = a;
  both.insert(both.end(), b.begin(), b.end());
  for (auto fn : {test::zstdCompress, test::xzCompress, test::gzipCompress}) {
    Bytes packed = fn(a);
    Bytes second = fn(b);
    packed.insert(packed.end(), second.begin(), second.end());
    auto out = run(packed, 333);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_EQ(*out, both);
  }
}

TEST(Decompress, TruncatedStreamsAreErrors) {
  const Bytes img = test::makeImage(100000);
  for (auto fn : {test::zstdCompress, test::xzCompress, test::gzipCompress}) {
    Bytes packed = fn(img);
    packed.resize(packed.size() / 2);
    auto out = run(packed, 4096);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, "truncated");
  }
}

TEST(Decompress, CorruptDataIsAnError) {
  Bytes packed = test::xzCompress(test::makeImage(100000));
  for (std::size_t i = 100; i < 200; ++i) packed[i] ^= 0x5a;
  auto out = run(packed, 4096);
  ASSERT_FALSE(out.ok());
}

TEST(Decompress, FormatHintMustMatch) {
  const Bytes img = test::makeImage(1000);
  auto out = run(test::gzipCompress(img), 100, Compression::Zstd);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "format_mismatch");
  EXPECT_TRUE(run(test::gzipCompress(img), 100, Compression::Gzip).ok());
  EXPECT_EQ(compressionFromFormat("raw.qcow2").error().code, "bad_format");
}

TEST(Digest, KnownVector) {
  const std::string abc = "abc";
  EXPECT_EQ(sha256Hex({reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sink, NullSinkEnforcesLimit) {
  NullSink s(100);
  Bytes b(60);
  EXPECT_TRUE(s.write(b).ok());
  auto st = s.write(b);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "image_too_large");
}

}  // namespace
}  // namespace drover::agent
