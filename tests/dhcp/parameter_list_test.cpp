// Option 55: replies carry what the client asked for, in its order, plus what RFC 2131
// requires and what the boot decision needs.
#include <algorithm>

#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

using wire::MessageType;
namespace opt = wire::opt;

void setList(wire::Message& m, std::initializer_list<std::uint8_t> codes) {
  const std::vector<std::uint8_t> v(codes);
  m.options.set(opt::kParameterList,
                wire::ByteView(reinterpret_cast<const std::byte*>(v.data()), v.size()));
}

std::vector<std::uint8_t> codesOf(const wire::Message& m) {
  std::vector<std::uint8_t> out;
  for (const auto& o : m.options.items()) out.push_back(o.code);
  return out;
}

wire::Message pxe(std::uint64_t mac, std::uint16_t arch, const char* vendor) {
  auto m = discoverFor(mac);
  m.options.setU16(opt::kClientArch, arch);
  m.options.setString(opt::kVendorClass, vendor);
  return m;
}

TEST_F(EngineTest, RequestedOptionsComeInTheClientsOrderAfterTheRequiredOnes) {
  auto d = discoverFor(1);
  setList(d, {15, 6, 3, 1});
  auto offer = replyOf(send(d));
  const std::vector<std::uint8_t> want{opt::kMessageType, opt::kServerId,  opt::kLeaseTime,
                                       opt::kRenewalTime, opt::kRebindingTime, 15, 6, 3, 1};
  EXPECT_EQ(codesOf(offer), want);
  // Broadcast address (28) and host name (12) were configured but not asked for.
  EXPECT_FALSE(offer.options.has(opt::kBroadcastAddress));
}

TEST_F(EngineTest, UnrequestedNetworkOptionsAreLeftOutUnlessAlwaysSent) {
  auto d = discoverFor(1);
  setList(d, {1});
  auto offer = replyOf(send(d));
  EXPECT_TRUE(offer.options.has(opt::kSubnetMask));
  EXPECT_FALSE(offer.options.has(opt::kRouter));
  EXPECT_FALSE(offer.options.has(opt::kDomainServer));
  EXPECT_FALSE(offer.options.has(opt::kDomainName));
  auto config = defaultConfig();
  config.networks[0].always_send = {opt::kRouter, opt::kDomainServer};
  rebuild(config);
  offer = replyOf(send(d));
  EXPECT_EQ(offer.options.ipv4(opt::kRouter), ip("192.0.2.1"));
  EXPECT_TRUE(offer.options.has(opt::kDomainServer));
  EXPECT_FALSE(offer.options.has(opt::kDomainName));
}

TEST_F(EngineTest, WithoutAListEveryConfiguredOptionIsSent) {
  auto d = discoverFor(1);
  d.options.erase(opt::kParameterList);
  auto offer = replyOf(send(d));
  for (auto code : {opt::kSubnetMask, opt::kRouter, opt::kDomainServer, opt::kDomainName,
                    opt::kBroadcastAddress, opt::kLeaseTime, opt::kServerId})
    EXPECT_TRUE(offer.options.has(code)) << int(code);
}

TEST_F(EngineTest, AckCarriesLeaseTimesAndTheReservedHostNameWhenAsked) {
  auto d = discoverFor(10);
  setList(d, {1, 3, 12});
  auto offer = replyOf(send(d));
  auto req = requestFor(offer, 10);
  setList(req, {1, 3, 12});
  auto ack = replyOf(send(req));
  EXPECT_EQ(ack.options.string(opt::kHostName), "master-1");
  EXPECT_EQ(ack.options.u32(opt::kLeaseTime), 3600u);
  EXPECT_EQ(ack.options.u32(opt::kRenewalTime), 1800u);
  EXPECT_EQ(ack.options.u32(opt::kRebindingTime), 3150u);
}

TEST_F(EngineTest, InformAckHasNoLeaseTimes) {
  auto inform = discoverFor(1);
  inform.setType(MessageType::Inform);
  inform.ciaddr = ip("192.0.2.77");
  setList(inform, {1, 3, 6, 51, 58, 59});
  auto ack = replyOf(send(inform));
  EXPECT_EQ(ack.messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  EXPECT_TRUE(ack.options.has(opt::kRouter));
  EXPECT_FALSE(ack.options.has(opt::kLeaseTime));
  EXPECT_FALSE(ack.options.has(opt::kRenewalTime));
  EXPECT_FALSE(ack.options.has(opt::kRebindingTime));
}

TEST_F(EngineTest, NakCarriesOnlyTheProtocolOptions) {
  auto req = discoverFor(1);
  req.setType(MessageType::Request);
  req.options.setIpv4(opt::kRequestedAddress, ip("198.51.100.5"));  // wrong network
  auto nak = replyOf(send(req));
  EXPECT_EQ(nak.messageType(), static_cast<std::uint8_t>(MessageType::Nak));
  const std::vector<std::uint8_t> want{opt::kMessageType, opt::kServerId, opt::kMessage};
  EXPECT_EQ(codesOf(nak), want);
}

TEST_F(EngineTest, BootFileOptionsFollowTheListButTheHeaderAlwaysNamesTheFile) {
  auto without = pxe(20, 0, "PXEClient:Arch:00000:UNDI:002001");
  setList(without, {1, 3, 6});
  auto offer = replyOf(send(without));
  EXPECT_EQ(offer.file, "undionly.kpxe");
  EXPECT_EQ(offer.siaddr, ip("192.0.2.1"));
  EXPECT_FALSE(offer.options.has(opt::kBootfile));
  EXPECT_FALSE(offer.options.has(opt::kTftpServer));
  auto with = pxe(21, 0, "PXEClient:Arch:00000:UNDI:002001");
  setList(with, {1, 66, 67});
  offer = replyOf(send(with));
  EXPECT_EQ(offer.options.string(opt::kBootfile), "undionly.kpxe");
  EXPECT_EQ(offer.options.string(opt::kTftpServer), "192.0.2.1");
}

TEST_F(EngineTest, HttpBootAndIpxeGetTheirOptionsEvenUnasked) {
  auto http = pxe(20, 16, "HTTPClient:Arch:00016:UNDI:003001");
  setList(http, {1, 3});
  auto offer = replyOf(send(http));
  EXPECT_EQ(offer.options.string(opt::kVendorClass), "HTTPClient");
  EXPECT_EQ(offer.file, "http://192.0.2.1:8080/ipxe.efi");
  auto ipxe = pxe(21, 7, "PXEClient:Arch:00007:UNDI:003016");
  ipxe.options.setString(opt::kUserClass, "iPXE");
  setList(ipxe, {1, 3, 6, 67});
  offer = replyOf(send(ipxe));
  EXPECT_EQ(offer.options.string(opt::kBootfile), "http://192.0.2.1:8080/boot.ipxe");
  ASSERT_TRUE(offer.options.has(opt::kIpxeEncap));
  EXPECT_EQ(wire::decodeSubOptions(*offer.options.get(opt::kIpxeEncap))->u8(wire::ipxe::kNoPxeDhcp),
            1);
}

TEST_F(EngineTest, AFileNameTooLongForTheHeaderKeepsOption67) {
  auto policy = defaultPolicy();
  policy.http_base = "http://192.0.2.1:8080/" + std::string(120, 'x');
  rebuild(defaultConfig(), policy);
  auto http = pxe(20, 16, "HTTPClient:Arch:00016:UNDI:003001");
  setList(http, {1, 3});
  auto offer = replyOf(send(http));
  EXPECT_TRUE(offer.file.empty());
  EXPECT_NE(offer.options.string(opt::kBootfile).value_or("").find("/ipxe.efi"), std::string::npos);
}

TEST_F(EngineTest, ProxyOfferKeepsPxeOptionsWhateverTheList) {
  auto d = pxe(40, 7, "PXEClient:Arch:00007:UNDI:003016");
  setList(d, {1, 3});
  auto offer = replyOf(send(d, onLink("203.0.113.1")));
  EXPECT_EQ(offer.options.string(opt::kVendorClass), "PXEClient");
  EXPECT_TRUE(offer.options.has(opt::kVendorSpecific));
  EXPECT_EQ(offer.file, "ipxe.efi");
  EXPECT_FALSE(offer.options.has(opt::kLeaseTime));
}

}  // namespace
}  // namespace drover::dhcp::test
