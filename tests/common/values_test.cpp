#include "common/values.hpp"
#include "common/strings.hpp"

#include <gtest/gtest.h>

namespace drover {
namespace {

using std::chrono::seconds;

TEST(Duration, ParsesSingleAndCombinedUnits) {
  EXPECT_EQ(*parseDuration("90s"), seconds(90));
  EXPECT_EQ(*parseDuration("15m"), seconds(900));
  EXPECT_EQ(*parseDuration("1h"), seconds(3600));
  EXPECT_EQ(*parseDuration("10d"), seconds(864000));
  EXPECT_EQ(*parseDuration("2w"), seconds(1209600));
  EXPECT_EQ(*parseDuration("1h30m"), seconds(5400));
  EXPECT_EQ(*parseDuration("1d2h3m4s"), seconds(93784));
  EXPECT_EQ(*parseDuration("0s"), seconds(0));
}

TEST(Duration, RejectsMalformed) {
  for (auto text : {"", "90", "s", "1x", "1h1h", "30m1h", "-5s", "1.5h", "1h ", " 1h", "h1",
                    "99999999999999999999s", "9999999999999999d"}) {
    auto d = parseDuration(text);
    EXPECT_FALSE(d) << text;
    if (!d) {
      EXPECT_EQ(d.error().code, "bad_duration");
    }
  }
  EXPECT_EQ(parseDuration("1x").error().message,
            "\"1x\" is not a duration (unknown unit; use w, d, h, m or s)");
}

TEST(Duration, FormatsCanonically) {
  EXPECT_EQ(formatDuration(seconds(5400)), "1h30m");
  EXPECT_EQ(formatDuration(seconds(0)), "0s");
  EXPECT_EQ(formatDuration(seconds(864000)), "10d");
  EXPECT_EQ(formatDuration(seconds(1209600)), "2w");
  EXPECT_EQ(formatDuration(seconds(93784)), "1d2h3m4s");
  for (auto text : {"90s", "1h", "1h30m", "10d", "2w", "1d2h3m4s"})
    EXPECT_EQ(*parseDuration(formatDuration(*parseDuration(text))), *parseDuration(text));
}

TEST(ListenAddress, ParsesHostAndPort) {
  auto a = ListenAddress::parse("0.0.0.0:69");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 69);
  auto all = ListenAddress::parse(":8080");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->host, "");
  EXPECT_EQ(all->port, 8080);
  auto v6 = ListenAddress::parse("[::1]:8443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->str(), "[::1]:8443");
  auto name = ListenAddress::parse("localhost:0");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->port, 0);
  EXPECT_EQ(name->str(), "localhost:0");
}

TEST(ListenAddress, RejectsMalformed) {
  for (auto text : {"", "0.0.0.0", "0.0.0.0:", "0.0.0.0:65536", "0.0.0.0:http", "::1:80", "[::1]",
                    "[::1]80", "[zz]:80", "host name:80", "0.0.0.0:-1"}) {
    auto a = ListenAddress::parse(text);
    EXPECT_FALSE(a) << text;
    if (!a) {
      EXPECT_EQ(a.error().code, "bad_listen");
    }
  }
}

TEST(Url, SplitsSchemeHostPortAndTarget) {
  auto u = Url::parse("http://192.0.2.1:8080/mirror/debian-12.raw.zst?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "192.0.2.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/mirror/debian-12.raw.zst?x=1");
  EXPECT_EQ(u->str(), "http://192.0.2.1:8080/mirror/debian-12.raw.zst?x=1");

  auto d = Url::parse("HTTPS://mirror.example");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->scheme, "https");
  EXPECT_EQ(d->port, 443);
  EXPECT_EQ(d->target, "/");
  EXPECT_EQ(d->str(), "https://mirror.example/");

  auto v6 = Url::parse("http://[2001:db8::1]:2379");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "2001:db8::1");
  EXPECT_EQ(v6->str(), "http://[2001:db8::1]:2379/");
}

TEST(Url, RejectsMalformed) {
  for (auto text :
       {"", "mirror.example/x", "://x", "http://", "http:///x", "http://a b/", "http://user@host/",
        "http://host:99999/", "http://host/#frag", "1http://host/", "http://host/a b"}) {
    auto u = Url::parse(text);
    EXPECT_FALSE(u) << text;
    if (!u) {
      EXPECT_EQ(u.error().code, "bad_url");
    }
  }
}

TEST(Sha256, ParsesAnyCaseAndFormatsLower) {
  const std::string lower = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  std::string upper = lower;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto a = Sha256::parse(upper);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->hex(), lower);
  EXPECT_EQ(a->bytes()[0], 0x9f);
  EXPECT_EQ(*a, *Sha256::parse(lower));
}

TEST(Sha256, RejectsWrongLengthOrDigits) {
  const std::string good = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  for (const std::string& text : {std::string(), good.substr(1), good + "0", "g" + good.substr(1),
                                  good.substr(0, 63) + " "}) {
    auto s = Sha256::parse(text);
    EXPECT_FALSE(s) << text;
    if (!s) {
      EXPECT_EQ(s.error().code, "bad_sha256");
    }
  }
}

TEST(SplitList, NonEmptyItemsInOrder) {
  EXPECT_EQ(splitList("a,,b,"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(splitList(""), std::vector<std::string>{});
  EXPECT_EQ(splitList("http://x:2379"), std::vector<std::string>{"http://x:2379"});
  EXPECT_EQ(splitList("a b", ' '), (std::vector<std::string>{"a", "b"}));
}

TEST(Fnv1a64, KnownValues) {
  EXPECT_EQ(fnv1a64(""), 14695981039346656037ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
}

}  // namespace
}  // namespace drover
