// Relayed requests, network boot answers and proxyDHCP.
#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

using wire::MessageType;
namespace opt = wire::opt;

wire::Message pxeDiscover(std::uint64_t mac, std::uint16_t arch, const char* vendor) {
  auto m = discoverFor(mac);
  // What PXE firmware asks for (Intel PXE 2.1 ROMs, EDK2): boot server and file included.
  const std::uint8_t prl[] = {1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 43, 60, 66, 67, 97, 128};
  m.options.set(opt::kParameterList,
                wire::ByteView(reinterpret_cast<const std::byte*>(prl), sizeof prl));
  m.options.setU16(opt::kClientArch, arch);
  m.options.setString(opt::kVendorClass, vendor);
  wire::Bytes uuid(17, std::byte{0x11});
  uuid[0] = std::byte{0};
  m.options.set(opt::kClientUuid, uuid);
  return m;
}

TEST_F(EngineTest, RelayedRequestsUseTheRelaysNetworkAndEchoOption82) {
  auto d = discoverFor(1);
  d.giaddr = ip("198.51.100.1");
  d.hops = 1;
  const std::byte rai[] = {std::byte{1},   std::byte{4},   std::byte{'e'},
                           std::byte{'t'}, std::byte{'h'}, std::byte{'0'}};
  d.options.set(opt::kRelayAgentInfo, wire::ByteView(rai));
  auto out = send(d);
  auto offer = replyOf(out);
  EXPECT_TRUE(Cidr::parse("198.51.100.0/24")->contains(offer.yiaddr));
  EXPECT_EQ(offer.giaddr, ip("198.51.100.1"));
  EXPECT_EQ(offer.options.get(opt::kRelayAgentInfo)->size(), sizeof rai);
  EXPECT_EQ(offer.options.ipv4(opt::kRouter), ip("198.51.100.1"));
  EXPECT_EQ(out.reply->destination.kind, Destination::Kind::Unicast);
  EXPECT_EQ(out.reply->destination.ip, ip("198.51.100.1"));
  EXPECT_EQ(out.reply->destination.port, 67);
  // Option 82 is the last option on the wire (RFC 3046 2.1).
  const auto& bytes = out.reply->payload;
  std::size_t i = 240, last = 0;
  while (i < bytes.size() && std::to_integer<int>(bytes[i]) != 255) {
    last = i;
    i += 2 + std::to_integer<std::size_t>(bytes[i + 1]);
  }
  EXPECT_EQ(std::to_integer<int>(bytes[last]), 82);
  // A relay from a subnet we do not serve: nothing.
  auto stranger = discoverFor(2);
  stranger.giaddr = ip("10.1.1.1");
  EXPECT_EQ(send(stranger).drop, "no_network");
}

TEST_F(EngineTest, ARelayListedForANetworkSelectsIt) {
  auto config = defaultConfig();
  config.networks[1].relays.push_back(ip("203.0.113.9"));
  config.networks.pop_back();  // the proxy network would contain 203.0.113.9 itself
  rebuild(config);
  auto d = discoverFor(1);
  d.giaddr = ip("203.0.113.9");
  auto offer = replyOf(send(d));
  EXPECT_TRUE(Cidr::parse("198.51.100.0/24")->contains(offer.yiaddr));
}

TEST_F(EngineTest, NakThroughARelaySetsTheBroadcastFlag) {
  auto req = discoverFor(1);
  req.setType(MessageType::Request);
  req.giaddr = ip("198.51.100.1");
  req.options.setIpv4(opt::kRequestedAddress, ip("192.0.2.100"));  // wrong subnet for this relay
  auto nak = replyOf(send(req));
  EXPECT_EQ(nak.messageType(), static_cast<std::uint8_t>(MessageType::Nak));
  EXPECT_TRUE(nak.broadcast());
}

struct BootCase {
  std::uint16_t arch;
  const char* vendor;
  const char* file;
};

TEST_F(EngineTest, BootFileFollowsTheFirmware) {
  const BootCase cases[] = {
      {0, "PXEClient:Arch:00000:UNDI:002001", "undionly.kpxe"},
      {7, "PXEClient:Arch:00007:UNDI:003016", "ipxe.efi"},
      {9, "PXEClient:Arch:00009:UNDI:003016", "ipxe.efi"},
      {11, "PXEClient:Arch:00011:UNDI:003016", "ipxe-arm64.efi"},
      {16, "HTTPClient:Arch:00016:UNDI:003001", "http://192.0.2.1:8080/ipxe.efi"},
      {19, "HTTPClient:Arch:00019:UNDI:003001", "http://192.0.2.1:8080/ipxe-arm64.efi"},
  };
  std::uint64_t mac = 20;
  for (const auto& c : cases) {
    clock_.advance(31);  // earlier offers lapse: the test pool has four addresses
    auto offer = replyOf(send(pxeDiscover(mac++, c.arch, c.vendor)));
    EXPECT_EQ(offer.options.string(opt::kBootfile), c.file) << c.arch;
    EXPECT_EQ(offer.file, c.file);
    EXPECT_EQ(offer.siaddr, ip("192.0.2.1"));
    EXPECT_EQ(offer.options.string(opt::kTftpServer), "192.0.2.1");
    EXPECT_EQ(offer.options.has(opt::kVendorClass), c.arch == 16 || c.arch == 19) << c.arch;
    EXPECT_FALSE(offer.options.has(opt::kIpxeEncap));
  }
  // A plain OS client gets no boot file.
  EXPECT_FALSE(replyOf(send(discoverFor(1))).options.has(opt::kBootfile));
}

TEST_F(EngineTest, IpxeGetsTheScriptUrlAndNoPxeDhcp) {
  auto m = pxeDiscover(30, 0, "PXEClient:Arch:00000:UNDI:002001");
  m.options.setString(opt::kUserClass, "iPXE");
  auto offer = replyOf(send(m));
  EXPECT_EQ(offer.options.string(opt::kBootfile), "http://192.0.2.1:8080/boot.ipxe");
  auto encap = wire::decodeSubOptions(*offer.options.get(opt::kIpxeEncap));
  ASSERT_TRUE(encap.ok());
  EXPECT_EQ(encap->u8(wire::ipxe::kNoPxeDhcp), 1);
}

TEST_F(EngineTest, RealIpxeDiscoverGetsTheScriptUrl) {
  // Captured from the iPXE ROM of QEMU (Debian ipxe-qemu) booting against this server.
  auto bytes = bytesOf(corpusFile("ipxe-discover.bin"));
  ASSERT_FALSE(bytes.empty());
  auto out = engine_->handle(bytes, onLink());
  auto offer = replyOf(out);
  EXPECT_EQ(offer.options.string(opt::kBootfile), "http://192.0.2.1:8080/boot.ipxe");
  EXPECT_TRUE(offer.options.has(opt::kIpxeEncap));
}

TEST_F(EngineTest, ProxyModeAnswersPxeClientsWithBootInfoOnly) {
  auto ctx = onLink("203.0.113.1");
  auto out = send(pxeDiscover(40, 7, "PXEClient:Arch:00007:UNDI:003016"), ctx);
  auto offer = replyOf(out);
  EXPECT_EQ(offer.messageType(), static_cast<std::uint8_t>(MessageType::Offer));
  EXPECT_TRUE(offer.yiaddr.isUnspecified());
  EXPECT_FALSE(offer.options.has(opt::kLeaseTime));
  EXPECT_EQ(offer.options.string(opt::kVendorClass), "PXEClient");
  EXPECT_TRUE(offer.options.has(opt::kVendorSpecific));
  EXPECT_TRUE(offer.options.has(opt::kClientUuid));
  EXPECT_EQ(offer.file, "ipxe.efi");
  EXPECT_EQ(offer.siaddr, ip("203.0.113.1"));
  EXPECT_TRUE(out.writes.empty());
  EXPECT_EQ(out.reply->destination.kind, Destination::Kind::Broadcast);
  // Non-PXE clients and plain REQUESTs are the site server's business.
  EXPECT_EQ(send(discoverFor(41), ctx).drop, "not_pxe_client");
  auto req = pxeDiscover(40, 7, "PXEClient:Arch:00007:UNDI:003016");
  req.setType(MessageType::Request);
  EXPECT_EQ(send(req, ctx).drop, "proxy_not_ours");
  // The same REQUEST to the boot server port is answered, unicast to its source.
  ctx.proxy_port = true;
  ctx.source = ip("203.0.113.77");
  ctx.source_port = 4011;
  req.ciaddr = ip("203.0.113.77");
  auto boot = send(req, ctx);
  auto ack = replyOf(boot);
  EXPECT_EQ(ack.messageType(), static_cast<std::uint8_t>(MessageType::Ack));
  EXPECT_TRUE(ack.yiaddr.isUnspecified());
  EXPECT_EQ(boot.reply->destination.ip, ip("203.0.113.77"));
  EXPECT_EQ(boot.reply->destination.port, 4011);
}

}  // namespace
}  // namespace drover::dhcp::test
