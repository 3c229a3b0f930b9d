#include <gtest/gtest.h>

#include <string>

#include "tftp/wire/netascii.hpp"

namespace drover::tftp::wire {
namespace {

std::string encodeInBlocks(const std::string& text, std::size_t block) {
  std::string out;
  NetasciiState st;
  auto src = drover::wire::asBytes(text);
  std::size_t pos = 0;
  for (;;) {
    drover::wire::Bytes buf(block);
    auto step = netasciiEncode(src.subspan(pos), buf, st);
    pos += step.consumed;
    out.append(reinterpret_cast<const char*>(buf.data()), step.produced);
    if (step.produced < block) break;
  }
  return out;
}

TEST(TftpNetascii, EncodesLineEndsAndBareCr) {
  EXPECT_EQ(encodeInBlocks("a\nb\rc", 64), std::string("a\r\nb\r\0c", 7));
}

TEST(TftpNetascii, PendingByteCrossesBlockBoundary) {
  // Every block size from 1 gives the same stream as one big block.
  const std::string text = "line one\nline two\r\n\r\rend\n";
  const std::string whole = encodeInBlocks(text, 4096);
  for (std::size_t b = 1; b < 12; ++b) EXPECT_EQ(encodeInBlocks(text, b), whole) << b;
}

TEST(TftpNetascii, DecodeInvertsEncode) {
  const std::string text = "x\n\r\n\ry\r";
  auto enc = encodeInBlocks(text, 3);
  auto dec = netasciiDecode(drover::wire::asBytes(enc));
  EXPECT_EQ(std::string(drover::wire::asChars(dec)), text);
}

}  // namespace
}  // namespace drover::tftp::wire
