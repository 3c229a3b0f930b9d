#include <gtest/gtest.h>

#include "tftp/wire/options.hpp"

namespace drover::tftp::wire {
namespace {

TEST(TftpOptions, NoOptionsMeansNoOack) {
  auto n = negotiate({}, Mode::Octet, 100, {});
  EXPECT_EQ(n.blksize, 512u);
  EXPECT_EQ(n.windowsize, 1);
  EXPECT_FALSE(n.timeout);
  EXPECT_TRUE(n.oack.empty());
}

TEST(TftpOptions, AcceptsKnownOptionsInClientOrder) {
  auto n = negotiate({{"tsize", "0"}, {"blksize", "1024"}, {"timeout", "3"}, {"windowsize", "16"}},
                     Mode::Octet, 4096, {});
  EXPECT_EQ(n.blksize, 1024u);
  EXPECT_EQ(n.windowsize, 16);
  EXPECT_EQ(n.timeout, std::chrono::seconds(3));
  EXPECT_EQ(n.oack, (std::vector<Option>{
                        {"tsize", "4096"}, {"blksize", "1024"}, {"timeout", "3"}, {"windowsize", "16"}}));
}

TEST(TftpOptions, ClampsBlksizeAndWindowsizeToLimits) {
  OptionLimits limits{1468, 32};
  auto n = negotiate({{"blksize", "65464"}, {"windowsize", "65535"}}, Mode::Octet, 1, limits);
  EXPECT_EQ(n.blksize, 1468u);
  EXPECT_EQ(n.windowsize, 32);
  EXPECT_EQ(n.oack, (std::vector<Option>{{"blksize", "1468"}, {"windowsize", "32"}}));
}

TEST(TftpOptions, IgnoresOutOfRangeMalformedAndUnknown) {
  auto n = negotiate({{"blksize", "7"},
                      {"timeout", "0"},
                      {"timeout", "256"},
                      {"windowsize", "0"},
                      {"windowsize", "65536"},
                      {"tsize", "-1"},
                      {"blksize", " 1024"},
                      {"multicast", ""},
                      {"utimeout", "1000"}},
                     Mode::Octet, 1, {});
  EXPECT_EQ(n.blksize, 512u);
  EXPECT_EQ(n.windowsize, 1);
  EXPECT_TRUE(n.oack.empty());
}

TEST(TftpOptions, TsizeOnlyInOctetModeWithKnownSize) {
  EXPECT_TRUE(negotiate({{"tsize", "0"}}, Mode::Netascii, 10, {}).oack.empty());
  EXPECT_TRUE(negotiate({{"tsize", "0"}}, Mode::Octet, std::nullopt, {}).oack.empty());
  EXPECT_EQ(negotiate({{"tsize", "0"}}, Mode::Octet, 0, {}).oack,
            (std::vector<Option>{{"tsize", "0"}}));
}

TEST(TftpOptions, BlksizeForMtu) {
  EXPECT_EQ(blksizeForMtu(1500), 1468u);
  EXPECT_EQ(blksizeForMtu(9000), 8968u);
  EXPECT_EQ(blksizeForMtu(576), 544u);
  EXPECT_EQ(blksizeForMtu(10), kMinBlksize);
  EXPECT_EQ(blksizeForMtu(100000), kMaxBlksize);
}

TEST(TftpOptions, ParseDecimalIsStrict) {
  EXPECT_EQ(parseDecimal("0"), 0u);
  EXPECT_EQ(parseDecimal("1468"), 1468u);
  EXPECT_FALSE(parseDecimal(""));
  EXPECT_FALSE(parseDecimal("+1"));
  EXPECT_FALSE(parseDecimal("1e3"));
  EXPECT_FALSE(parseDecimal("12345678901234567890"));
}

}  // namespace
}  // namespace drover::tftp::wire
