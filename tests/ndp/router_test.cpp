#include "ndp/wire/router.hpp"

#include <gtest/gtest.h>

namespace drover::ndp::wire {
namespace {

Bytes hex(std::initializer_list<int> v) {
  Bytes out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

TEST(RouterSolicitation, ParsesWithAndWithoutSourceAddress) {
  // As sent by a host that has a link-local address: type 133, reserved, option 1.
  auto rs = parseRouterSolicitation(
      hex({133, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56}));
  ASSERT_TRUE(rs) << rs.error().message;
  ASSERT_TRUE(rs->source_mac);
  EXPECT_EQ(rs->source_mac->str(), "52:54:00:12:34:56");

  auto bare = parseRouterSolicitation(hex({133, 0, 0, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->source_mac);
}

TEST(RouterSolicitation, RejectsMalformedMessages) {
  EXPECT_EQ(parseRouterSolicitation(hex({133, 0, 0})).error().code, "ndp_short");
  EXPECT_EQ(parseRouterSolicitation(hex({133, 0, 0, 0, 0, 0})).error().code, "ndp_short");
  EXPECT_EQ(parseRouterSolicitation(hex({134, 0, 0, 0, 0, 0, 0, 0})).error().code, "ndp_type");
  EXPECT_EQ(parseRouterSolicitation(hex({133, 1, 0, 0, 0, 0, 0, 0})).error().code, "ndp_code");
  // A zero-length option would never advance; one that runs past the end is cut.
  EXPECT_EQ(
      parseRouterSolicitation(hex({133, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0})).error().code,
      "ndp_option");
  EXPECT_EQ(
      parseRouterSolicitation(hex({133, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0})).error().code,
      "ndp_option");
  EXPECT_EQ(parseRouterSolicitation(hex({133, 0, 0, 0, 0, 0, 0, 0, 1})).error().code, "ndp_option");
}

TEST(RouterSolicitation, SkipsUnknownOptions) {
  auto rs = parseRouterSolicitation(hex({133, 0, 0, 0, 0, 0, 0, 0, 99, 1, 1, 2, 3, 4, 5, 6,  //
                                         1,   1, 2, 0, 0, 0, 0, 1}));
  ASSERT_TRUE(rs);
  ASSERT_TRUE(rs->source_mac);
  EXPECT_EQ(rs->source_mac->str(), "02:00:00:00:00:01");
}

TEST(RouterAdvertisement, EncodesAnAdvertisementThatAnnouncesNothing) {
  RouterAdvertisement ra;
  ra.source_mac = *MacAddress::parse("02:00:5e:00:53:01");
  auto bytes = encodeRouterAdvertisement(ra);
  // 16-byte header (type 134, zero checksum, hop 0, flags 0, lifetime 0, timers 0) + option.
  EXPECT_EQ(bytes, hex({134, 0, 0,    0,    0,    0,    0,    0,   0, 0, 0, 0, 0, 0, 0, 0,  //
                        1,   1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}));
}

TEST(RouterAdvertisement, RoundTrips) {
  RouterAdvertisement ra;
  ra.cur_hop_limit = 64;
  ra.managed = true;
  ra.other = true;
  ra.router_lifetime_s = 1800;
  ra.reachable_time_ms = 30000;
  ra.retrans_timer_ms = 1000;
  auto back = parseRouterAdvertisement(encodeRouterAdvertisement(ra));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cur_hop_limit, 64);
  EXPECT_TRUE(back->managed);
  EXPECT_TRUE(back->other);
  EXPECT_EQ(back->router_lifetime_s, 1800);
  EXPECT_EQ(back->reachable_time_ms, 30000u);
  EXPECT_EQ(back->retrans_timer_ms, 1000u);
  EXPECT_FALSE(back->source_mac);
}

TEST(RouterSolicitation, RoundTrips) {
  RouterSolicitation rs{*MacAddress::parse("52:54:00:aa:bb:cc")};
  auto back = parseRouterSolicitation(encodeRouterSolicitation(rs));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->source_mac, rs.source_mac);
}

}  // namespace
}  // namespace drover::ndp::wire
