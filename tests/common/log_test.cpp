#include "common/log.hpp"

#include <gtest/gtest.h>

namespace drover::log {
namespace {

TEST(Sanitize, EscapesControlAndQuotesAndCuts) {
  EXPECT_EQ(sanitize("ok"), "ok");
  EXPECT_EQ(sanitize(std::string_view("a\0b\n\"", 5)), "a\\x00b\\x0a\\x22");
  EXPECT_EQ(sanitize("abcdef", 3), "abc...");
}

TEST(RateLimit, AllowsABurstThenCountsSuppressed) {
  RateLimit rl(2, std::chrono::hours(1));
  std::uint64_t suppressed = 0;
  EXPECT_TRUE(rl.allow(suppressed));
  EXPECT_TRUE(rl.allow(suppressed));
  EXPECT_FALSE(rl.allow(suppressed));
  EXPECT_FALSE(rl.allow(suppressed));
}

TEST(Loggers, OnePerComponent) {
  auto a = get("test-component");
  auto b = get("test-component");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->name(), "test-component");
}

}  // namespace
}  // namespace drover::log
