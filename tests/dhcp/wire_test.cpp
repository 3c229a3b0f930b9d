#include "dhcp/wire/message.hpp"

#include <gtest/gtest.h>

#include "tests/dhcp/support/packets.hpp"

namespace drover::dhcp::wire {
namespace {

using test::bytesOf;
using test::discoverFor;

TEST(Options, TableKnowsTheRequiredCodes) {
  for (int code : {1,  3,  6,  12, 15, 28, 43, 50, 51, 52, 53, 54, 55,
                   57, 58, 59, 60, 61, 66, 67, 77, 82, 93, 94, 97, 175})
    EXPECT_NE(findOption(static_cast<std::uint8_t>(code)), nullptr) << code;
  EXPECT_NE(findIpxeOption(ipxe::kNoPxeDhcp), nullptr);
  EXPECT_EQ(findOption(250), nullptr);
}

TEST(Options, TypedAccessorsRoundTrip) {
  Options o;
  o.setU8(opt::kMessageType, 3);
  o.setU16(opt::kMaxMessageSize, 1500);
  o.setU32(opt::kLeaseTime, 3600);
  o.setIpv4(opt::kServerId, Ipv4Address(0xc0000201));
  const Ipv4Address dns[] = {Ipv4Address(0xc0000201), Ipv4Address(0xc0000202)};
  o.setIpv4List(opt::kDomainServer, dns);
  o.setString(opt::kHostName, "node-1");
  EXPECT_EQ(o.u8(opt::kMessageType), 3);
  EXPECT_EQ(o.u16(opt::kMaxMessageSize), 1500);
  EXPECT_EQ(o.u32(opt::kLeaseTime), 3600u);
  EXPECT_EQ(o.ipv4(opt::kServerId), Ipv4Address(0xc0000201));
  EXPECT_EQ(o.ipv4List(opt::kDomainServer).size(), 2u);
  EXPECT_EQ(o.string(opt::kHostName), "node-1");
  EXPECT_EQ(o.u16(opt::kLeaseTime), std::nullopt);  // wrong width
}

TEST(Options, SubOptionsRoundTripAndRejectOverrun) {
  Options sub;
  sub.setU8(ipxe::kNoPxeDhcp, 1);
  sub.set(ipxe::kBusId, Bytes(300, std::byte{7}));  // split into two instances
  auto bytes = encodeSubOptions(sub);
  auto back = decodeSubOptions(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, sub);
  bytes.pop_back();
  EXPECT_EQ(decodeSubOptions(bytes).error().code, "option_overrun");
}

TEST(Message, RoundTripsHeaderAndOptions) {
  Message m = discoverFor(0x5254001234ULL);
  m.xid = 0xdeadbeef;
  m.flags = kBroadcastFlag;
  m.giaddr = Ipv4Address(0xc6336401);
  m.options.set(200, Bytes{std::byte{1}, std::byte{2}});  // unknown: kept raw
  m.file = "undionly.kpxe";
  auto bytes = encode(m);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), kMinBootpSize);
  auto back = decode(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
  EXPECT_EQ(back->messageType(), 1);
  EXPECT_TRUE(back->broadcast());
}

TEST(Message, LongOptionsAreSplitAndJoined) {
  Message m = discoverFor(1);
  Bytes big(600);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = std::byte(i & 0xff);
  m.options.set(opt::kVendorSpecific, big);
  auto bytes = encode(m, kMaxUdpPayload);
  ASSERT_TRUE(bytes.ok());
  // Three instances of 43: 255 + 255 + 90.
  int instances = 0;
  for (std::size_t i = 240; i + 1 < bytes->size();) {
    auto code = std::to_integer<int>((*bytes)[i]);
    if (code == 0) {
      ++i;
      continue;
    }
    if (code == 255) break;
    if (code == 43) ++instances;
    i += 2 + std::to_integer<std::size_t>((*bytes)[i + 1]);
  }
  EXPECT_EQ(instances, 3);
  auto back = decode(*bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->options.get(opt::kVendorSpecific)->size(), 600u);
  EXPECT_EQ(*back, m);
}

TEST(Message, MaxMessageSizeIsRespectedByOverloadingThenSkipping) {
  Message m = discoverFor(2);
  m.setType(MessageType::Offer);
  m.options.set(opt::kRelayAgentInfo, Bytes(10, std::byte{1}));
  for (std::uint8_t code = 200; code < 204; ++code)
    m.options.set(code, Bytes(100, std::byte{code}));
  EncodeReport report;
  auto bytes = encode(m, kDefaultMaxReply, &report);
  ASSERT_TRUE(bytes.ok());
  EXPECT_LE(bytes->size(), kDefaultMaxReply);
  EXPECT_TRUE(report.overloaded);
  auto back = decode(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  for (auto code : report.skipped) m.options.erase(code);
  EXPECT_EQ(back->options, m.options);
  // A client allowing 1500 bytes gets everything in the options field.
  m.options.setU16(opt::kMaxMessageSize, 1500);
  EXPECT_EQ(maxReplySize(m), 1472u);
  EncodeReport big;
  ASSERT_TRUE(encode(m, maxReplySize(m), &big).ok());
  EXPECT_FALSE(big.overloaded);
  EXPECT_TRUE(big.skipped.empty());
}

TEST(Message, DecodesOverloadedFileAndSname) {
  Message m = discoverFor(3);
  Bytes raw = *encode(m);
  // Put option 12 "abc" in file and 15 "x" in sname, announce 52 = 3.
  const std::size_t sname_at = 44, file_at = 108;
  const std::uint8_t in_file[] = {12, 3, 'a', 'b', 'c', 255};
  const std::uint8_t in_sname[] = {15, 1, 'x', 255};
  for (std::size_t i = 0; i < sizeof in_file; ++i) raw[file_at + i] = std::byte{in_file[i]};
  for (std::size_t i = 0; i < sizeof in_sname; ++i) raw[sname_at + i] = std::byte{in_sname[i]};
  raw.insert(raw.begin() + 240, {std::byte{52}, std::byte{1}, std::byte{3}});
  auto back = decode(raw);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->options.string(opt::kHostName), "abc");
  EXPECT_EQ(back->options.string(opt::kDomainName), "x");
  EXPECT_FALSE(back->options.has(opt::kOverload));
  EXPECT_TRUE(back->file.empty());
}

TEST(Message, BadInputIsANamedError) {
  Bytes good = *encode(discoverFor(4));
  auto reason = [](const Bytes& b) {
    auto r = decode(b);
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(reason(Bytes(good.begin(), good.begin() + 239)), "truncated");
  EXPECT_EQ(reason(Bytes(kMaxMessageSize + 1)), "oversized");
  Bytes bad_cookie = good;
  bad_cookie[236] = std::byte{0};
  EXPECT_EQ(reason(bad_cookie), "bad_cookie");
  Bytes overrun(good.begin(), good.begin() + 240);
  overrun.insert(overrun.end(), {std::byte{12}, std::byte{10}, std::byte{'a'}});
  EXPECT_EQ(reason(overrun), "option_overrun");
  Bytes no_len(good.begin(), good.begin() + 240);
  no_len.push_back(std::byte{12});
  EXPECT_EQ(reason(no_len), "option_overrun");
  Bytes loop = good;
  loop.insert(loop.begin() + 240, {std::byte{52}, std::byte{1}, std::byte{1}});
  loop[108] = std::byte{52};
  loop[109] = std::byte{1};
  loop[110] = std::byte{1};
  EXPECT_EQ(reason(loop), "overload_loop");
  Bytes bad_overload = good;
  bad_overload.insert(bad_overload.begin() + 240, {std::byte{52}, std::byte{1}, std::byte{9}});
  EXPECT_EQ(reason(bad_overload), "bad_overload");
  Bytes bad_type = good;
  bad_type.insert(bad_type.begin() + 240,
                  {std::byte{53}, std::byte{1}, std::byte{1}});  // joined: 2
  EXPECT_EQ(reason(bad_type), "bad_option_length");
  Bytes bad_hlen = good;
  bad_hlen[2] = std::byte{17};
  EXPECT_EQ(reason(bad_hlen), "bad_hlen");
}

TEST(Message, SeedPacketsFromRealClientsDecode) {
  // dhclient DISCOVER captured on a veth (tests/dhcp/corpus/dhclient-discover.bin).
  auto bytes = bytesOf(test::corpusFile("dhclient-discover.bin"));
  if (bytes.empty()) GTEST_SKIP() << "corpus not present";
  auto m = decode(bytes);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->messageType(), 1);
  EXPECT_TRUE(m->options.has(opt::kParameterList));
  auto again = decode(*encode(*m, kMaxUdpPayload));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *m);
}

}  // namespace
}  // namespace drover::dhcp::wire
