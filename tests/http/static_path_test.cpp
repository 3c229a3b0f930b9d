#include "http/static_files.hpp"

#include <gtest/gtest.h>

namespace drover::http {
namespace {

std::string joined(std::string_view raw) {
  auto r = normaliseUrlPath(raw);
  if (!r) return "!" + r.error().code;
  std::string out;
  for (const auto& s : *r) out += "/" + s;
  return out;
}

TEST(NormaliseUrlPathTest, Accepted) {
  EXPECT_EQ(joined("a/b.txt"), "/a/b.txt");
  EXPECT_EQ(joined("/a//./b.txt"), "/a/b.txt");
  EXPECT_EQ(joined("a/x/../b.txt"), "/a/b.txt");
  EXPECT_EQ(joined("a%20b"), "/a b");
}

TEST(NormaliseUrlPathTest, Refused) {
  for (std::string_view raw : {"../etc/passwd", "a/../../etc/passwd", "%2e%2e/etc/passwd", "%2E%2E/secret",
                               "a%2f..%2f..%2fsecret", "a%5c..%5csecret", "..\\secret", "a%00b", "%zz",
                               ".hidden", "a/.git/config"}) {
    EXPECT_EQ(joined(raw).substr(0, 1), "!") << raw;
  }
  EXPECT_EQ(joined(std::string(300, 'a')), "!bad_path");
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "abcdefgh/";
  EXPECT_EQ(joined(deep), "!bad_path");
  EXPECT_EQ(joined(""), "!not_found");
  EXPECT_EQ(joined("/"), "!not_found");
}

TEST(ContentTypeTest, ByExtension) {
  EXPECT_EQ(contentTypeFor("boot.ipxe"), "text/plain; charset=utf-8");
  EXPECT_EQ(contentTypeFor("vmlinuz"), "application/octet-stream");
  EXPECT_EQ(contentTypeFor("disk.raw.zst"), "application/zstd");
}

}  // namespace
}  // namespace drover::http
