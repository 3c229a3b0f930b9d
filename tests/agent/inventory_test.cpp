#include "agent/inventory.hpp"

#include <gtest/gtest.h>

#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

std::filesystem::path data(const char* tree) {
  return test::sourceDir() / "tests/testdata/agent" / tree;
}

TEST(Inventory, QemuLikeTree) {
  auto f = collectFacts(data("qemu"));
  EXPECT_EQ(f.cpu_count, 2);
  EXPECT_EQ(f.cpu_model, "QEMU Virtual CPU version 2.5+");
  EXPECT_EQ(f.memory_bytes, 1014120ull * 1024);
  ASSERT_EQ(f.disks.size(), 2u);  // loop0 and sr0 skipped
  EXPECT_EQ(f.disks[0].name, "sda");
  EXPECT_EQ(f.disks[0].size_bytes, 4194304ull * 512);
  EXPECT_EQ(f.disks[0].model, "QEMU HARDDISK");
  EXPECT_FALSE(f.disks[0].rotational);
  EXPECT_NE(f.disks[0].serial.find("QM00001"), std::string::npos);  // from wwid
  EXPECT_EQ(f.disks[1].name, "vda");
  EXPECT_EQ(f.disks[1].size_bytes, 10ull << 30);
  EXPECT_EQ(f.disks[1].serial, "drover-vda-0001");
  EXPECT_TRUE(f.disks[1].rotational);
  ASSERT_EQ(f.nics.size(), 3u);  // lo skipped
  EXPECT_EQ(f.nics[0].name, "br0");
  EXPECT_EQ(f.nics[0].driver, "");
  EXPECT_EQ(f.nics[1].name, "ens3");
  EXPECT_EQ(f.nics[1].driver, "virtio_net");
  EXPECT_TRUE(f.nics[1].link);
  EXPECT_EQ(f.nics[2].mac, "52:54:00:ab:cd:ef");
  EXPECT_EQ(f.nics[2].driver, "e1000");
  EXPECT_FALSE(f.nics[2].link);
  EXPECT_EQ(f.mac, "52:54:00:12:34:56");  // first physical NIC with link, not the bridge
  EXPECT_EQ(f.uuid, "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162");
  EXPECT_EQ(f.smbios_vendor, "QEMU");
  EXPECT_EQ(f.smbios_product, "Standard PC (i440FX + PIIX, 1996)");
  EXPECT_EQ(f.arch, "efi-x64");
}

TEST(Inventory, VirtualDisksOnRequest) {
  InventoryOptions opt;
  opt.include_virtual_disks = true;
  auto f = collectFacts(data("qemu"), opt);
  EXPECT_EQ(f.disks.size(), 4u);
}

TEST(Inventory, JsonMatchesTheRegisterBody) {
  auto j = factsToJson(collectFacts(data("qemu")));
  EXPECT_EQ(j["mac"], "52:54:00:12:34:56");
  EXPECT_EQ(j["arch"], "efi-x64");
  EXPECT_EQ(j["cpu"]["count"], 2);
  EXPECT_EQ(j["memory_bytes"], 1014120ull * 1024);
  EXPECT_EQ(j["disks"][1]["name"], "vda");
  EXPECT_EQ(j["disks"][1]["size_bytes"], 10ull << 30);
  EXPECT_EQ(j["disks"][1]["rotational"], true);
  EXPECT_EQ(j["nics"][1]["driver"], "virtio_net");
  EXPECT_EQ(j["nics"][1]["link"], true);
  EXPECT_EQ(j["smbios"]["uuid"], "8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162");
  EXPECT_EQ(j["smbios"]["serial"], "drover-test-serial");
}

TEST(Inventory, CapturedHostTree) {
  auto f = collectFacts(data("host"));
  EXPECT_GE(f.cpu_count, 1);
  EXPECT_FALSE(f.cpu_model.empty());
  EXPECT_GT(f.memory_bytes, 0u);
  ASSERT_FALSE(f.disks.empty());
  for (const auto& d : f.disks) {
    EXPECT_NE(d.name.rfind("loop", 0), 0u) << d.name;
    EXPECT_NE(d.name.rfind("zram", 0), 0u) << d.name;
  }
  ASSERT_FALSE(f.nics.empty());
  for (const auto& n : f.nics) EXPECT_NE(n.name, "lo");
  EXPECT_EQ(f.arch, "bios");
}

TEST(Inventory, MissingRootGivesEmptyFacts) {
  auto f = collectFacts("/nonexistent-drover-root");
  EXPECT_EQ(f.cpu_count, 0);
  EXPECT_TRUE(f.disks.empty());
  EXPECT_TRUE(f.nics.empty());
  EXPECT_EQ(factsToJson(f)["disks"].size(), 0u);
}

}  // namespace
}  // namespace drover::agent
