// UEFI load options and BootNext: the codec on hand-built and OVMF bytes, the choice of
// the network entry, the efivarfs writer against a directory that stands in for it, and
// the reboot into the network that join mode runs.
#include "agent/efi_boot.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/api_client.hpp"
#include "agent/net_reboot.hpp"
#include "common/metrics.hpp"
#include "tests/agent/efi_load_options.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::agent::efi {
namespace {

namespace fs = std::filesystem;
using namespace testing;
using test::readFile;
using test::TempDir;
using test::writeFile;
using ::testing::HasSubstr;

MacAddress mac(const std::array<std::uint8_t, 6>& octets) {
  return MacAddress(octets);
}

Bytes fileBytes(const fs::path& p) {
  auto s = readFile(p);
  return Bytes(s.begin(), s.end());
}

TEST(EfiLoadOption, DecodesWhatTheSpecificationLaysOut) {
  const auto bytes = pxe4();
  auto o = decodeLoadOption(bytes);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->attributes, kLoadOptionActive);
  EXPECT_EQ(o->description, "UEFI PXEv4 (MAC:525400123456)");
  EXPECT_TRUE(o->optional_data.empty());
  auto nodes = parseDevicePath(o->device_path);
  ASSERT_TRUE(nodes);
  ASSERT_EQ(nodes->size(), 4u);
  EXPECT_EQ((*nodes)[2].type, 3);
  EXPECT_EQ((*nodes)[2].subtype, 11);
  EXPECT_EQ(macOf(o->device_path), mac(kMac));
  EXPECT_EQ(encodeLoadOption(*o), bytes);
}

TEST(EfiLoadOption, KeepsOptionalDataAndNonAsciiDescriptions) {
  const Bytes extra{0x4e, 0xac, 0x08, 0x81, 0x11, 0x9f, 0x59, 0x4d};
  auto o = decodeLoadOption(loadOption(0, "Réseau ☃", path({pciRoot()}), extra));
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->description, "Réseau ☃");
  EXPECT_EQ(o->optional_data, extra);
  EXPECT_FALSE(macOf(o->device_path).has_value());
}

TEST(EfiLoadOption, MalformedBytesAreNamedErrors) {
  auto reason = [](const Bytes& b) {
    auto o = decodeLoadOption(b);
    EXPECT_FALSE(o);
    if (o) return std::string();
    EXPECT_EQ(o.error().code, "bad_load_option");
    return o.error().message;
  };
  EXPECT_THAT(reason({1, 0, 0, 0, 4}), HasSubstr("shorter than the 6-byte header"));
  EXPECT_THAT(reason({1, 0, 0, 0, 4, 0, 'A', 0, 'B'}), HasSubstr("no terminating null"));
  auto good = pxe4();
  EXPECT_THAT(reason(Bytes(good.begin(), good.end() - 1)), HasSubstr("are left"));
  // A node claiming 2 bytes, one running past the end, and a path without its End node.
  EXPECT_THAT(reason(loadOption(1, "x", {1, 1, 2, 0})), HasSubstr("a node of 2 bytes"));
  EXPECT_THAT(reason(loadOption(1, "x", {1, 1, 40, 0, 0, 0})), HasSubstr("runs past the end"));
  EXPECT_THAT(reason(loadOption(1, "x", pci(3, 0))), HasSubstr("no End node"));
}

TEST(EfiLoadOption, ThePxeEntryOfTheNicIsPicked) {
  std::vector<BootEntry> entries;
  for (auto [n, bytes] : std::vector<std::pair<std::uint16_t, Bytes>>{
           {0, disk()}, {1, http4()}, {2, pxe6()}, {3, pxe4(kOtherMac)}, {4, pxe4()}})
    entries.push_back({n, *decodeLoadOption(bytes)});
  auto pick = pickNetworkEntry(entries, mac(kMac));
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->number, 4);  // PXE over IPv4, not HTTP or IPv6, and not the other NIC's
  EXPECT_EQ(matchNetwork(entries[1].option, mac(kMac)), NetMatch::kMacNode);
  EXPECT_EQ(matchNetwork(entries[0].option, mac(kMac)), NetMatch::kNone);
  // An inactive entry loses to an active one that matches less well.
  entries[4].option.attributes = 0;
  EXPECT_EQ(pickNetworkEntry(entries, mac(kMac))->number, 1);
  // No MAC node anywhere: the description that says PXE/Network and names the MAC.
  std::vector<BootEntry> vendor{{7, *decodeLoadOption(disk())},
                                {8, *decodeLoadOption(vendorPxe())}};
  EXPECT_EQ(pickNetworkEntry(vendor, mac(kMac))->number, 8);
  EXPECT_FALSE(pickNetworkEntry(vendor, mac(kOtherMac)).has_value());
}

class EfivarsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(efi_ / "efivars");
    put("Boot0000", disk());
    put("Boot0001", http4());
    put("Boot0004", pxe4());
    put("BootOrder", {0, 0, 4, 0, 1, 0});
    writeFile(vars() / "Boot0005-eb704011-1402-11d3-8e77-00a0c969723b", efivarfsFile(pxe4()));
  }
  fs::path vars() const { return efi_ / "efivars"; }
  void put(const std::string& name, const Bytes& data) {
    writeFile(vars() / variableFile(name), efivarfsFile(data));
  }

  TempDir dir_;
  fs::path efi_ = dir_.path() / "efi";
};

TEST_F(EfivarsTest, BootEntriesAreReadAndABadOneIsSkippedAndCounted) {
  put("Boot0009", {1, 0, 0, 0, 200, 0, 'x', 0});  // path list longer than the data
  auto& bad = metrics::Registry::global().counter("agent_efi_bad_load_options_total", "");
  const auto before = bad.load();
  auto entries = readBootEntries(vars());
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 3u);  // not BootOrder, not another vendor's Boot0005
  EXPECT_EQ((*entries)[2].number, 4);
  EXPECT_EQ(bad.load(), before + 1);
  EXPECT_EQ(readBootEntries(dir_.path() / "missing").error().code, "efivars");
}

// The Boot#### variables OVMF wrote for a QEMU machine with a SATA disk and a virtio NIC
// (52:54:00:12:34:56), as tests/agent/fuzz/make_efi_corpus.py read them from its VARS file.
TEST(EfiOvmf, TheRealVariablesDecodeAndThePxeV4EntryIsPicked) {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  const fs::path corpus = fs::path(src ? src : ".") / "tests/agent/fuzz/corpus";
  TempDir dir;
  for (int n = 0; n <= 6; ++n) {
    const auto name = fmt::format("Boot{:04X}", n);
    ASSERT_TRUE(fs::exists(corpus / ("ovmf-" + name))) << corpus;
    fs::copy_file(corpus / ("ovmf-" + name), dir.path() / variableFile(name));
  }
  auto entries = readBootEntries(dir.path());
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 7u);
  std::vector<std::string> names;
  for (const auto& e : *entries) names.push_back(e.option.description);
  EXPECT_THAT(names, ::testing::ElementsAre(
                         "UiApp", "UEFI QEMU HARDDISK QM00001 ", "UEFI PXEv4 (MAC:525400123456)",
                         "UEFI PXEv6 (MAC:525400123456)", "UEFI HTTPv4 (MAC:525400123456)",
                         "UEFI HTTPv6 (MAC:525400123456)", "EFI Internal Shell"));
  auto pick = pickNetworkEntry(*entries, mac(kMac));
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->number, 2);
  EXPECT_EQ(macOf((*entries)[2].option.device_path), mac(kMac));
  EXPECT_FALSE(pickNetworkEntry(*entries, mac(kOtherMac)).has_value());
}

TEST_F(EfivarsTest, BootNextIsWrittenNvBsRtAndReadBack) {
  ASSERT_TRUE(writeBootNext(vars(), 4));
  EXPECT_EQ(fileBytes(vars() / variableFile("BootNext")), (Bytes{7, 0, 0, 0, 4, 0}));
  EXPECT_EQ(readBootNext(vars()), 4);
  // efivarfs files are immutable: the flag is cleared before the file is written again.
  const auto file = vars() / variableFile("BootNext");
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int flags = 0;
  const bool has_flags = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  flags |= FS_IMMUTABLE_FL;
  const bool immutable = has_flags && ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  ::close(fd);
  if (!immutable) std::printf("note: %s keeps no immutable flag here\n", file.c_str());
  ASSERT_TRUE(writeBootNext(vars(), 0x0a01));
  EXPECT_EQ(fileBytes(file), (Bytes{7, 0, 0, 0, 1, 0x0a}));
  EXPECT_EQ(bootName(0x0a01), "Boot0A01");
}

// SecureBoot (global GUID): the attributes, then one byte, 1 when enforced.
TEST_F(EfivarsTest, SecureBootStateIsReadFromTheFirmwaresVariable) {
  EXPECT_FALSE(secureBootEnabled(vars()).has_value());  // BIOS, or no efivarfs
  put("SecureBoot", {1});
  EXPECT_EQ(secureBootEnabled(vars()), true);
  put("SecureBoot", {0});
  EXPECT_EQ(secureBootEnabled(vars()), false);
  put("SecureBoot", {7});
  EXPECT_FALSE(secureBootEnabled(vars()).has_value());
  put("SecureBoot", {1, 1});
  EXPECT_FALSE(secureBootEnabled(vars()).has_value());
}

TEST_F(EfivarsTest, RebootIntoTheNetworkSetsBootNextReportsThenReboots) {
  std::vector<std::string> reports;
  int reboots = 0;
  NetworkRebootOptions opt{efi_, vars(), [&] {
                             ++reboots;
                             return Status{};
                           }};
  auto report = [&](std::string_view phase, const std::string& m) {
    reports.push_back(std::string(phase) + ": " + m);
  };
  ASSERT_TRUE(rebootToNetwork({"r1", "52:54:00:12:34:56"}, opt, report));
  EXPECT_EQ(readBootNext(vars()), 4);
  EXPECT_EQ(reboots, 1);
  EXPECT_THAT(reports,
              ::testing::ElementsAre(
                  "boot_next: BootNext=Boot0004 \"UEFI PXEv4 (MAC:525400123456)\" (read back)",
                  HasSubstr("reboot_network: rebooting into the network: BootNext=Boot0004")));

  // A NIC the firmware does not list: reported, and the machine is not rebooted.
  reports.clear();
  auto st = rebootToNetwork({"r2", "52:54:00:aa:bb:cc"}, opt, report);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "no_network_entry");
  EXPECT_EQ(reboots, 1);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_THAT(reports[0], HasSubstr("reboot_failed: none of the 3 Boot#### entries"));
  EXPECT_FALSE(rebootToNetwork({"r3", "not-a-mac"}, opt, report));
  EXPECT_EQ(reboots, 1);
}

TEST_F(EfivarsTest, ABiosMachineJustReboots) {
  int reboots = 0;
  std::vector<std::string> reports;
  NetworkRebootOptions opt{dir_.path() / "no-efi", vars(), [&] {
                             ++reboots;
                             return Status{};
                           }};
  ASSERT_TRUE(rebootToNetwork({"r1", ""}, opt, [&](std::string_view phase, const std::string& m) {
    reports.push_back(std::string(phase) + ": " + m);
  }));
  EXPECT_EQ(reboots, 1);
  EXPECT_THAT(reports, ::testing::ElementsAre(HasSubstr("reboot_network: rebooting into the "
                                                        "network: BIOS")));
  EXPECT_FALSE(readBootNext(vars()).has_value());
}

TEST(HeartbeatReply, AReinstallRequestNeedsItsIdAndMac) {
  EXPECT_EQ(parseHeartbeat("{}")->action, "");
  auto r = parseHeartbeat(R"({"action":"reinstall","id":"a-1","mac":"52:54:00:12:34:56"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, "a-1");
  EXPECT_EQ(r->mac, "52:54:00:12:34:56");
  EXPECT_EQ(parseHeartbeat(R"({"action":"reinstall","mac":"x"})").error().code, "bad_reply");
  EXPECT_EQ(parseHeartbeat(R"({"action":"dance"})").error().code, "bad_reply");
  EXPECT_EQ(parseHeartbeat("[]").error().code, "bad_reply");
}

}  // namespace
}  // namespace drover::agent::efi
