#include "common/net.hpp"

#include <gtest/gtest.h>

namespace drover {
namespace {

TEST(MacAddress, AcceptsColonDashDottedAndBareFormsInAnyCase) {
  for (auto text : {"52:54:00:12:34:56", "52-54-00-12-34-56", "5254.0012.3456", "525400123456",
                    "52:54:00:12:34:56", "52:54:00:12:34:56"}) {
    auto m = MacAddress::parse(text);
    ASSERT_TRUE(m) << text;
    EXPECT_EQ(m->str(), "52:54:00:12:34:56");
  }
  auto upper = MacAddress::parse("AA:BB:CC:DD:EE:FF");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->str(), "aa:bb:cc:dd:ee:ff");
}

TEST(MacAddress, RejectsMalformed) {
  for (auto text : {"", "52:54:00:zz:00:01", "52:54:00:12:34", "52:54:00:12:34:56:78",
                    "52:54-00:12:34:56", "5254.0012.345", "52:54:00:12:34:5", "5:254:00:12:34:56",
                    "52::54:00:12:34", ":52:54:00:12:34:56", "52:54:00:12:34:56:"}) {
    auto m = MacAddress::parse(text);
    EXPECT_FALSE(m) << text;
    if (!m) {
      EXPECT_EQ(m.error().code, "bad_mac");
    }
  }
  EXPECT_EQ(MacAddress::parse("52:54:00:zz:00:01").error().message,
            "\"52:54:00:zz:00:01\" is not a MAC address");
}

TEST(Ipv4Address, ParsesAndFormats) {
  auto a = Ipv4Address::parse("192.0.2.10");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value(), 0xC000020Au);
  EXPECT_EQ(a->str(), "192.0.2.10");
  EXPECT_TRUE(Ipv4Address::parse("0.0.0.0"));
  EXPECT_TRUE(Ipv4Address::parse("255.255.255.255"));
  for (auto text : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01.2.3.4", "1..2.3",
                    "a.b.c.d", "1.2.3.4 ", " 1.2.3.4", "1.2.3.1000"}) {
    EXPECT_FALSE(Ipv4Address::parse(text)) << text;
  }
}

TEST(Cidr, ParsesContainsAndOverlaps) {
  auto c = Cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->netmask().str(), "255.255.255.0");
  EXPECT_EQ(c->broadcast().str(), "192.0.2.255");
  EXPECT_TRUE(c->contains(*Ipv4Address::parse("192.0.2.200")));
  EXPECT_FALSE(c->contains(*Ipv4Address::parse("198.51.100.1")));
  EXPECT_TRUE(c->overlaps(*Cidr::parse("192.0.0.0/16")));
  EXPECT_FALSE(c->overlaps(*Cidr::parse("198.51.100.0/24")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0"));
  EXPECT_TRUE(Cidr::parse("192.0.2.7/32"));
}

TEST(Cidr, RejectsHostBitsAndBadPrefixes) {
  auto c = Cidr::parse("192.0.2.5/24");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("did you mean 192.0.2.0/24"), std::string::npos);
  for (auto text : {"192.0.2.0", "192.0.2.0/33", "192.0.2.0/-1", "192.0.2.0/", "x/24", "192.0.2.0/2a"}) {
    EXPECT_FALSE(Cidr::parse(text)) << text;
  }
}

TEST(Ipv4Range, ParsesAndMeasures) {
  auto r = Ipv4Range::parse("192.0.2.100-192.0.2.199");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 100u);
  EXPECT_TRUE(r->contains(*Ipv4Address::parse("192.0.2.150")));
  EXPECT_FALSE(r->contains(*Ipv4Address::parse("192.0.2.99")));
  EXPECT_TRUE(r->overlaps(*Ipv4Range::parse("192.0.2.199-192.0.2.250")));
  EXPECT_FALSE(Ipv4Range::parse("192.0.2.199-192.0.2.100"));
  EXPECT_FALSE(Ipv4Range::parse("192.0.2.100"));
}

TEST(Uuid, ParsesAnyCaseAndBraces) {
  auto u = Uuid::parse("8A6B0C3E-2F1D-4C5E-9A7B-1D2E3F405162");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->str(), "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162");
  EXPECT_TRUE(Uuid::parse("{8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162}"));
  for (auto text : {"", "8a6b0c3e2f1d4c5e9a7b1d2e3f405162", "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f40516",
                    "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f40516g", "8a6b0c3e-2f1d4-c5e-9a7b-1d2e3f405162"}) {
    EXPECT_FALSE(Uuid::parse(text)) << text;
  }
}

}  // namespace
}  // namespace drover
