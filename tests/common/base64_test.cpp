#include "common/base64.hpp"

#include <gtest/gtest.h>

namespace drover {
namespace {

TEST(Base64, EncodesWithPaddingAndRoundTrips) {
  EXPECT_EQ(encodeBase64(std::string_view("")), "");
  EXPECT_EQ(encodeBase64(std::string_view("d")), "ZA==");
  EXPECT_EQ(encodeBase64(std::string_view("dr")), "ZHI=");
  EXPECT_EQ(encodeBase64(std::string_view("drover")), "ZHJvdmVy");
  const std::string binary("\0\xff\x10\x80z", 5);
  EXPECT_EQ(decodeBase64(encodeBase64(binary)), binary);
  for (std::string s : {"", "d", "dr", "dro"}) EXPECT_EQ(decodeBase64(encodeBase64(s)), s);
}

TEST(Base64, RefusesWhatIsNotBase64) {
  EXPECT_FALSE(decodeBase64("abc"));       // length
  EXPECT_FALSE(decodeBase64("a*c="));      // alphabet
  EXPECT_FALSE(decodeBase64("ZA==ZA=="));  // padding in the middle
  EXPECT_EQ(decodeBase64(""), "");
}

}  // namespace
}  // namespace drover
