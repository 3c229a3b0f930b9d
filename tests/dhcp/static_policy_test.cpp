// The test policy's first file comes from the boot decision's architecture table.
#include "tests/dhcp/support/static_policy.hpp"

#include <gtest/gtest.h>

#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

ClientFacts firmware(std::optional<std::uint16_t> arch, std::string vendor) {
  ClientFacts f;
  f.mac = macFor(50);
  f.arch = arch;
  f.vendor_class = std::move(vendor);
  return f;
}

TEST(StaticBootPolicy, FirstFileFromTheArchitectureTable) {
  const StaticBootPolicy policy(defaultPolicy());
  struct Row {
    std::optional<std::uint16_t> arch;
    const char* vendor;
    const char* file;
    bool http;
  };
  const Row rows[] = {
      {0, "PXEClient:Arch:00000:UNDI:002001", "undionly.kpxe", false},
      {6, "PXEClient:Arch:00006:UNDI:003016", "", false},  // 32-bit UEFI: no loader
      {7, "PXEClient:Arch:00007:UNDI:003016", "ipxe.efi", false},
      {9, "PXEClient:Arch:00009:UNDI:003016", "ipxe.efi", false},
      {10, "PXEClient:Arch:00010:UNDI:003016", "", false},  // ARM32: no loader
      {11, "PXEClient:Arch:00011:UNDI:003016", "ipxe-arm64.efi", false},
      {15, "HTTPClient:Arch:00015:UNDI:003001", "", false},
      {16, "HTTPClient:Arch:00016:UNDI:003001", "http://192.0.2.1:8080/ipxe.efi", true},
      {19, "HTTPClient:Arch:00019:UNDI:003001", "http://192.0.2.1:8080/ipxe-arm64.efi", true},
      {0x1234, "PXEClient", "", false},  // not in the table
      {std::nullopt, "PXEClient:Arch:00011:UNDI:003016", "ipxe-arm64.efi", false},  // from 60
      {std::nullopt, "PXEClient", "undionly.kpxe", false},
      {std::nullopt, "", "", false},  // a plain OS client
  };
  for (const auto& r : rows) {
    const auto a = policy.decide(firmware(r.arch, r.vendor));
    EXPECT_EQ(a.boot_file, r.file) << r.arch.value_or(0xffff) << " " << r.vendor;
    EXPECT_EQ(a.http_client, r.http) << r.arch.value_or(0xffff) << " " << r.vendor;
  }
}

}  // namespace
}  // namespace drover::dhcp::test
