#include "agent/decompress.hpp"

#include <gtest/gtest.h>

#include "agent/digest.hpp"
#include "agent/sink.hpp"
#include "tests/agent/compress_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::agent {
namespace {

using ::drover::test::TempDir;
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
  for (const Bytes& packed :
       {img, test::zstdCompress(img), test::xzCompress(img), test::gzipCompress(img)}) {
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

// An xz header may ask for a dictionary of up to 4 GiB; the decoder refuses more than
// 256 MiB instead of allocating it (the data itself would decode with a small one).
TEST(Decompress, XzAskingForHugeMemoryIsRefused) {
  Bytes xz = test::xzCompress(test::makeImage(8192));
  const std::size_t h = 12;  // after the stream header
  const std::size_t size = (static_cast<std::size_t>(xz[h]) + 1) * 4;
  std::size_t p = h + 2;
  auto skipVarint = [&] {
    while (xz[p++] & 0x80) {
    }
  };
  if (xz[h + 1] & 0x40) skipVarint();  // compressed size
  if (xz[h + 1] & 0x80) skipVarint();  // uncompressed size
  ASSERT_EQ(xz[p], 0x21);              // LZMA2
  ASSERT_EQ(xz[p + 1], 1);             // one property byte: the dictionary size
  xz[p + 2] = 36;                      // 1 GiB
  const uLong crc = crc32(0, xz.data() + h, static_cast<uInt>(size - 4));
  for (int i = 0; i < 4; ++i) xz[h + size - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  auto out = run(xz, 4096);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "decompress");
  EXPECT_NE(out.error().message.find("256 MiB"), std::string::npos) << out.error().message;
}

TEST(Sink, DiscardZeroesHeadAndTail) {
  TempDir tmp;
  const auto path = tmp.path() / "disk";
  FileSinkOptions o;
  o.buffer_bytes = 64 * 1024;
  auto sink = FileSink::open(path, o);
  ASSERT_TRUE(sink.ok());
  const Bytes img(3 * kDiscardBytes + 4096, 0xab);
  ASSERT_TRUE((*sink)->write(img).ok());
  auto zeroed = (*sink)->discard();
  ASSERT_TRUE(zeroed.ok()) << zeroed.error().message;
  EXPECT_EQ(*zeroed, 2 * kDiscardBytes);
  const std::string disk = ::drover::test::readFile(path);
  ASSERT_EQ(disk.size(), 3 * kDiscardBytes);  // the unflushed batch was dropped
  EXPECT_EQ(disk.substr(0, kDiscardBytes), std::string(kDiscardBytes, '\0'));
  EXPECT_EQ(disk.substr(kDiscardBytes, kDiscardBytes), std::string(kDiscardBytes, '\xab'));
  EXPECT_EQ(disk.substr(2 * kDiscardBytes), std::string(kDiscardBytes, '\0'));
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
