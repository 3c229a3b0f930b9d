#include "common/wire.hpp"

#include <gtest/gtest.h>

namespace drover::wire {
namespace {

TEST(Reader, ReadsBigEndianAndStopsAtTheEnd) {
  const std::byte data[] = {std::byte{0x01}, std::byte{0x02}, std::byte{0x03},
                            std::byte{0x04}, std::byte{0x05}, std::byte{0x06}, std::byte{0x07}};
  Reader r(data);
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16(), 0x0203);
  EXPECT_EQ(r.u32(), 0x04050607u);
  EXPECT_TRUE(r.atEnd());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.u8(), std::nullopt);
  EXPECT_FALSE(r.ok());
}

TEST(Reader, ShortReadFailsWithoutConsuming) {
  const std::byte data[] = {std::byte{0x01}, std::byte{0x02}, std::byte{0x03}};
  Reader r(data);
  EXPECT_EQ(r.u32(), std::nullopt);
  EXPECT_EQ(r.position(), 0u);
  EXPECT_FALSE(r.ok());
  // Once bad, stays bad.
  EXPECT_EQ(r.u8(), std::nullopt);
}

TEST(Reader, HugeLengthsAreRejected) {
  const std::byte data[] = {std::byte{0x01}};
  Reader r(data);
  EXPECT_EQ(r.bytes(SIZE_MAX), std::nullopt);
  Reader r2(data);
  EXPECT_FALSE(r2.skip(SIZE_MAX));
}

TEST(Reader, CStringNeedsTerminator) {
  Reader r(asBytes(std::string_view("abc\0def", 7)));
  EXPECT_EQ(r.cstring(), "abc");
  EXPECT_EQ(r.cstring(), std::nullopt);
}

TEST(Writer, RespectsItsLimit) {
  Bytes out;
  Writer w(out, 5);
  EXPECT_TRUE(w.u32(0xdeadbeef));
  EXPECT_FALSE(w.u16(1));
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(out.size(), 4u);
}

TEST(Writer, RoundTripsThroughReader) {
  Bytes out;
  Writer w(out);
  ASSERT_TRUE(w.u8(7) && w.u16(0xBEEF) && w.u32(42) && w.chars("hi") && w.zeros(2));
  ASSERT_TRUE(w.patchU16(1, 0xCAFE));
  Reader r(out);
  EXPECT_EQ(r.u8(), 7);
  EXPECT_EQ(r.u16(), 0xCAFE);
  EXPECT_EQ(r.u32(), 42u);
  EXPECT_EQ(asChars(*r.bytes(2)), "hi");
  EXPECT_EQ(r.remaining(), 2u);
}

}  // namespace
}  // namespace drover::wire
