#include <gtest/gtest.h>

#include <string>

#include "tftp/server/block_source.hpp"

namespace drover::tftp {
namespace {

using namespace std::string_literals;

std::string blockText(BlockSource& src, std::uint64_t index, std::size_t blksize) {
  std::vector<std::byte> buf(blksize);
  auto n = src.read(index, buf);
  EXPECT_TRUE(n.ok());
  return std::string(reinterpret_cast<const char*>(buf.data()), n.valueOr(0));
}

std::shared_ptr<const std::string> text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

TEST(TftpBlockSource, OctetBlocksAreSlicesOfTheFile) {
  BlockSource src(text("abcdefghij"), wire::Mode::Octet, 4);
  EXPECT_EQ(src.wireSize(), 10u);
  EXPECT_EQ(blockText(src, 1, 4), "abcd");
  EXPECT_EQ(blockText(src, 3, 4), "ij");
  EXPECT_EQ(blockText(src, 2, 4), "efgh");
  EXPECT_EQ(blockText(src, 4, 4), "");
}

TEST(TftpBlockSource, NetasciiBlocksRebuildAfterGoBack) {
  const std::string in = "a\nbb\r\ncc\rd\n\n\nend";
  const std::string wire = "a\r\nbb\r\0\r\ncc\r\0d\r\n\r\n\r\nend"s;
  for (std::size_t bs = 1; bs <= 8; ++bs) {
    BlockSource src(text(in), wire::Mode::Netascii, bs);
    EXPECT_FALSE(src.wireSize());
    std::string all;
    std::vector<std::string> blocks;
    for (std::uint64_t i = 1;; ++i) {
      blocks.push_back(blockText(src, i, bs));
      all += blocks.back();
      if (blocks.back().size() < bs) break;
    }
    EXPECT_EQ(all, wire) << bs;
    // A timeout resends the window from its base: the same bytes again.
    src.release(2);
    for (std::uint64_t i = 2; i <= blocks.size(); ++i) EXPECT_EQ(blockText(src, i, bs), blocks[i - 1]) << bs;
    std::vector<std::byte> buf(bs);
    EXPECT_FALSE(src.read(1, buf).ok()) << "released";
  }
}

}  // namespace
}  // namespace drover::tftp
