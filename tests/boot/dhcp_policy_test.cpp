#include "boot/dhcp_policy.hpp"

#include "tests/boot/fixture.hpp"

namespace drover::boot {
namespace {

using Kind = dhcp::BootAnswer::Kind;

dhcp::ClientFacts facts(std::string_view mac, std::optional<std::uint16_t> arch = 0) {
  dhcp::ClientFacts f;
  f.mac = *MacAddress::parse(mac);
  f.arch = arch;
  f.vendor_class = "PXEClient:Arch:00000:UNDI:002001";
  return f;
}

TEST(InventoryBootPolicy, ReservedNodeGetsItsAddressAndTheBiosLoader) {
  testing::FixedSource source;
  InventoryBootPolicy policy(source);
  auto a = policy.decide(facts("52:54:00:12:34:57", 0));
  EXPECT_EQ(a.kind, Kind::Reserved);
  EXPECT_EQ(a.reserved_ip.str(), "192.0.2.11");
  EXPECT_EQ(a.boot_file, "undionly.kpxe");
  EXPECT_EQ(a.hostname, "worker-1");
  EXPECT_EQ(a.next_server.str(), "192.0.2.1");
  EXPECT_FALSE(a.http_client);
}

TEST(InventoryBootPolicy, UefiGetsIpxeEfiAndIpxeGetsTheScriptUrl) {
  testing::FixedSource source;
  InventoryBootPolicy policy(source);
  EXPECT_EQ(policy.decide(facts("52:54:00:12:34:57", 7)).boot_file, "ipxe.efi");
  EXPECT_EQ(policy.decide(facts("52:54:00:12:34:57", 9)).boot_file, "ipxe.efi");
  auto f = facts("52:54:00:12:34:57", 7);
  f.is_ipxe = true;
  f.user_class = "iPXE";
  EXPECT_EQ(policy.decide(f).boot_file, "http://192.0.2.1:8080/boot.ipxe");
}

TEST(InventoryBootPolicy, UefiHttpBootGetsAnHttpUrlAndTheHttpClientMark) {
  testing::FixedSource source;
  InventoryBootPolicy policy(source);
  auto f = facts("52:54:00:12:34:57", 16);
  f.vendor_class = "HTTPClient:Arch:00016:UNDI:003001";
  auto a = policy.decide(f);
  EXPECT_EQ(a.boot_file, "http://192.0.2.1:8080/ipxe.efi");
  EXPECT_TRUE(a.http_client);
}

TEST(InventoryBootPolicy, NodeMatchedByUuidWithoutAnAddressUsesThePool) {
  testing::FixedSource source;
  InventoryBootPolicy policy(source);
  auto f = facts("52:54:00:00:00:99", 0);
  f.uuid = *Uuid::parse("8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162");
  auto a = policy.decide(f);
  EXPECT_EQ(a.kind, Kind::Pool);
  EXPECT_EQ(a.hostname, "worker-2");
}

TEST(InventoryBootPolicy, UnknownMachinesFollowDefaultsUnknown) {
  testing::FixedSource discover("discover");
  EXPECT_EQ(InventoryBootPolicy(discover).decide(facts("52:54:00:aa:bb:cc")).kind, Kind::Pool);
  testing::FixedSource ignore("ignore");
  EXPECT_EQ(InventoryBootPolicy(ignore).decide(facts("52:54:00:aa:bb:cc")).kind, Kind::Ignore);
  // A known node is still answered when unknown machines are ignored.
  EXPECT_EQ(InventoryBootPolicy(ignore).decide(facts("52:54:00:12:34:57")).kind, Kind::Reserved);
}

TEST(InventoryBootPolicy, ReservedAddressesAreKnown) {
  testing::FixedSource source;
  InventoryBootPolicy policy(source);
  EXPECT_TRUE(policy.isReserved(*Ipv4Address::parse("192.0.2.11")));
  EXPECT_FALSE(policy.isReserved(*Ipv4Address::parse("192.0.2.12")));
}

// Today's arm64 UEFI HTTP boot firmware (option 93 code 19, HTTPClient) gets the arm64
// loader's URL, not the x64 ipxe.efi; without an arm64 loader it gets no boot file.
TEST(InventoryBootPolicy, Arm64HttpBootGetsTheArm64Loader) {
  auto f = facts("52:54:00:12:34:57", 19);
  f.vendor_class = "HTTPClient:Arch:00019:UNDI:003001";
  testing::FixedSource without;  // the fixture declares no server.boot.arm64_loader
  auto none = InventoryBootPolicy(without).decide(f);
  EXPECT_EQ(none.kind, Kind::Reserved);
  EXPECT_EQ(none.boot_file, "");
  EXPECT_FALSE(none.http_client);

  testing::FixedSource with("discover", "ipxe-arm64.efi");
  auto a = InventoryBootPolicy(with).decide(f);
  EXPECT_EQ(a.boot_file, "http://192.0.2.1:8080/ipxe-arm64.efi");
  EXPECT_TRUE(a.http_client);
  EXPECT_EQ(InventoryBootPolicy(with).decide(facts("52:54:00:12:34:57", 11)).boot_file,
            "ipxe-arm64.efi");
}

TEST(InventoryBootPolicy, UnsupportedArchitecturesGetAnAddressButNoFile) {
  testing::FixedSource source;
  InventoryBootPolicy policy(source);
  for (std::uint16_t code : {6, 10, 15, 0x1234}) {
    auto a = policy.decide(facts("52:54:00:12:34:57", code));
    EXPECT_EQ(a.kind, Kind::Reserved) << code;
    EXPECT_EQ(a.boot_file, "") << code;
  }
}

TEST(ClientIdentityOf, CarriesOption93VendorClassAndIpxe) {
  auto f = facts("52:54:00:12:34:57", 19);
  f.vendor_class = "HTTPClient:Arch:00019:UNDI:003001";
  f.is_ipxe = true;
  const auto id = clientIdentityOf(f);
  EXPECT_EQ(id.arch, 19);
  EXPECT_EQ(id.vendor_class, "HTTPClient:Arch:00019:UNDI:003001");
  EXPECT_TRUE(id.ipxe);
}

}  // namespace
}  // namespace drover::boot
