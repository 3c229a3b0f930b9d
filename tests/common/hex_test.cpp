#include "common/hex.hpp"

#include <gtest/gtest.h>

#include <array>

namespace drover {
namespace {

TEST(Hex, EncodesLowercasePairs) {
  const std::array<std::uint8_t, 4> b{0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(toHex(b), "000fa5ff");
  const std::array<std::byte, 2> c{std::byte{0x01}, std::byte{0xab}};
  EXPECT_EQ(toHex(c), "01ab");
  EXPECT_EQ(toHex(std::span<const std::uint8_t>()), "");
}

TEST(Hex, DecodesEitherCaseAndRoundTrips) {
  std::array<std::uint8_t, 3> out{};
  ASSERT_TRUE(fromHex("0aFf7c", out));
  EXPECT_EQ(out, (std::array<std::uint8_t, 3>{0x0a, 0xff, 0x7c}));
  EXPECT_EQ(toHex(out), "0aff7c");
}

TEST(Hex, RefusesWrongLengthAndNonDigits) {
  std::array<std::uint8_t, 2> out{};
  EXPECT_FALSE(fromHex("abc", out));
  EXPECT_FALSE(fromHex("abcdef", out));
  EXPECT_FALSE(fromHex("ab g", out));
  EXPECT_FALSE(fromHex("0x12", out));
  EXPECT_EQ(hexDigitValue('g'), -1);
  EXPECT_EQ(hexDigitValue('B'), 11);
}

}  // namespace
}  // namespace drover
