// The boot decision: firmware x iPXE x match x node state -> first file and script kind.
#include "boot/decision.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/cluster/config_text.hpp"

namespace drover::boot {
namespace {

using cluster::Config;
using state::NodeState;
using state::NodeStatus;

constexpr std::string_view kMaster = "52:54:00:12:34:56";  // profile master: default loader
constexpr std::string_view kWorker = "52:54:00:12:34:57";  // profile worker: snponly.efi
constexpr std::string_view kUnknown = "52:54:00:aa:bb:cc";

ClientIdentity pxe(std::uint16_t code) {
  const auto* a = architectureByCode(code);
  const bool http = a && a->firmware == Firmware::kUefiHttp;
  return ClientIdentity{
      code, fmt::format("{}:Arch:{:05}:UNDI:003016", http ? "HTTPClient" : "PXEClient", code),
      false};
}

ClientIdentity ipxe() {
  return ClientIdentity{7, "PXEClient:Arch:00007:UNDI:003016", true};
}

class DecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = cluster::loadConfigText(cluster::kFullConfig, "c.yaml", ".");
    ASSERT_TRUE(r.ok());
    config_ = std::make_shared<Config>(*r.config);
  }
  Decision decide(std::string_view mac, const ClientIdentity& client,
                  std::optional<NodeStatus> status = std::nullopt) {
    inv_ = cluster::Inventory::build(config_);
    return boot::decide(*config_, inv_.match(*MacAddress::parse(mac), std::nullopt), client,
                        status);
  }
  std::shared_ptr<Config> config_;
  cluster::Inventory inv_;
};

TEST(Architectures, OneTableByCodeAndName) {
  for (const auto& a : architectures()) {
    EXPECT_EQ(architectureByCode(a.code), &a) << a.name;
    EXPECT_EQ(findArchitecture(a.name), &a) << a.name;
    EXPECT_EQ(findArchitecture(std::to_string(a.code)), &a) << a.name;
  }
  EXPECT_EQ(findArchitecture("http-arm64")->code, 19);
  EXPECT_EQ(architectureByCode(19)->loader, Loader::kEfiArm64);
  EXPECT_EQ(architectureByCode(9)->loader, Loader::kEfiX64);
  for (std::uint16_t code : {6, 10, 15, 18})
    EXPECT_EQ(architectureByCode(code)->loader, Loader::kNone) << code;
  for (std::uint16_t code : {1, 2, 12, 0xffff})
    EXPECT_EQ(architectureByCode(code), nullptr) << code;
  EXPECT_EQ(findArchitecture("efi"), nullptr);
  EXPECT_EQ(findArchitecture("70000"), nullptr);
  EXPECT_EQ(findArchitecture("7x"), nullptr);
}

TEST_F(DecisionTest, LoaderPerFirmware) {
  struct Row {
    std::string_view mac;
    std::uint16_t code;
    Delivery delivery;
    std::string file;
  };
  const Row rows[] = {
      {kMaster, 0, Delivery::kTftp, "undionly.kpxe"},
      {kMaster, 7, Delivery::kTftp, "ipxe.efi"},
      {kMaster, 9, Delivery::kTftp, "ipxe.efi"},
      {kWorker, 7, Delivery::kTftp, "snponly.efi"},
      {kWorker, 0, Delivery::kTftp, "undionly.kpxe"},
      {kMaster, 11, Delivery::kTftp, "ipxe-arm64.efi"},
      {kMaster, 16, Delivery::kHttp, "http://192.0.2.1:8080/ipxe.efi"},
      {kWorker, 16, Delivery::kHttp, "http://192.0.2.1:8080/snponly.efi"},
      {kMaster, 19, Delivery::kHttp, "http://192.0.2.1:8080/ipxe-arm64.efi"},
      {kUnknown, 7, Delivery::kTftp, "ipxe.efi"},
  };
  for (const auto& row : rows) {
    auto d = decide(row.mac, pxe(row.code));
    EXPECT_EQ(d.delivery, row.delivery) << row.mac << " " << row.code;
    EXPECT_EQ(d.file, row.file) << row.mac << " " << row.code;
    EXPECT_EQ(d.http_client, row.delivery == Delivery::kHttp) << row.mac << " " << row.code;
    ASSERT_NE(d.arch, nullptr);
    EXPECT_EQ(d.arch->code, row.code);
  }
}

// The arm64 UEFI HTTP boot client gets the arm64 loader over HTTP, never the x64 one.
TEST_F(DecisionTest, Arm64HttpBootGetsTheArm64Loader) {
  auto d = decide(kMaster, ClientIdentity{19, "HTTPClient:Arch:00019:UNDI:003001", false});
  EXPECT_EQ(d.delivery, Delivery::kHttp);
  EXPECT_EQ(d.file, "http://192.0.2.1:8080/ipxe-arm64.efi");
  EXPECT_TRUE(d.http_client);
  // Without option 93 the vendor class's Arch field says the same.
  EXPECT_EQ(
      decide(kMaster, ClientIdentity{std::nullopt, "HTTPClient:Arch:00019:UNDI:003001", false})
          .file,
      "http://192.0.2.1:8080/ipxe-arm64.efi");

  config_->server.boot.arm64_loader.clear();
  auto none = decide(kMaster, ClientIdentity{19, "HTTPClient:Arch:00019:UNDI:003001", false});
  EXPECT_EQ(none.delivery, Delivery::kNone);
  EXPECT_TRUE(none.file.empty());
  EXPECT_FALSE(none.http_client);
  EXPECT_NE(none.reason.find("server.boot.arm64_loader"), std::string::npos) << none.reason;
}

// Without an arm64 loader of the operator's, arm64 machines of a declaration with an arm64
// boot environment start Debian's arm64 network GRUB over TFTP, and boot that environment;
// HTTP boot gets nothing (GRUB reads its configuration over TFTP).
TEST_F(DecisionTest, Arm64WithoutALoaderBootsTheArm64NetworkGrub) {
  config_->server.boot.arm64_loader.clear();
  auto none = decide(kMaster, pxe(11));
  EXPECT_EQ(none.delivery, Delivery::kNone);
  EXPECT_NE(none.reason.find("defaults.boot_env_arm64"), std::string::npos) << none.reason;

  cluster::Image env;
  env.name = "boot-env-arm64";
  env.kernel = config_->images.at("boot-env").kernel;
  env.initrd = config_->images.at("boot-env").initrd;
  config_->images.emplace(env.name, env);
  config_->defaults.boot_env_arm64 = cluster::Located<std::string>{"boot-env-arm64", {}, {}};
  auto d = decide(kMaster, pxe(11));
  EXPECT_EQ(d.delivery, Delivery::kTftp);
  EXPECT_EQ(d.file, kGrubArm64Name);
  EXPECT_NE(d.reason.find("arm64 network GRUB"), std::string::npos) << d.reason;
  ASSERT_NE(d.boot_env, nullptr);
  EXPECT_EQ(d.boot_env->name, "boot-env-arm64");
  EXPECT_EQ(decide(kMaster, pxe(7)).boot_env->name, "boot-env");  // x64 keeps its own
  EXPECT_EQ(bootEnv(*config_, true)->name, "boot-env-arm64");
  EXPECT_EQ(bootEnv(*config_, false)->name, "boot-env");

  auto http = decide(kMaster, pxe(19));
  EXPECT_EQ(http.delivery, Delivery::kNone);
  EXPECT_NE(http.reason.find("over TFTP"), std::string::npos) << http.reason;
  // An installed arm64 machine boots the same GRUB (its configuration boots the disk).
  EXPECT_EQ(decide(kMaster, pxe(11), NodeStatus{NodeState::kInstalled}).file, kGrubArm64Name);
  // A loader of the operator's wins.
  config_->server.boot.arm64_loader = "snp-arm64.efi";
  EXPECT_EQ(decide(kMaster, pxe(11)).file, "snp-arm64.efi");
}

TEST_F(DecisionTest, UnsupportedArchitecturesGetNoFileAndSaySo) {
  for (std::uint16_t code : {6, 10, 15, 18}) {
    auto d = decide(kMaster, pxe(code));
    EXPECT_EQ(d.delivery, Delivery::kNone) << code;
    EXPECT_TRUE(d.file.empty()) << code;
    EXPECT_NE(d.reason.find("unsupported architecture"), std::string::npos) << d.reason;
    EXPECT_NE(d.reason.find(fmt::format("code {})", code)), std::string::npos) << d.reason;
    EXPECT_EQ(d.script, ScriptKind::kInstall);  // the machine is still known and answered
  }
  auto unknown_code = decide(kMaster, ClientIdentity{0x1234, "PXEClient", false});
  EXPECT_EQ(unknown_code.delivery, Delivery::kNone);
  EXPECT_EQ(unknown_code.arch, nullptr);
  EXPECT_NE(unknown_code.reason.find("unsupported architecture: option 93 code 4660"),
            std::string::npos);
}

TEST_F(DecisionTest, ClientsWithoutOption93) {
  EXPECT_EQ(decide(kMaster, ClientIdentity{std::nullopt, "PXEClient", false}).file,
            "undionly.kpxe");
  EXPECT_EQ(decide(kMaster, ClientIdentity{std::nullopt, "HTTPClient", false}).file,
            "http://192.0.2.1:8080/ipxe.efi");
  auto plain = decide(kMaster, ClientIdentity{std::nullopt, "", false});
  EXPECT_EQ(plain.delivery, Delivery::kNone);
  EXPECT_NE(plain.reason.find("not a network boot client"), std::string::npos);
}

TEST_F(DecisionTest, IpxeClientsGetTheScriptUrlWhateverTheFirmware) {
  for (auto mac : {kMaster, kWorker, kUnknown}) {
    for (const auto& a : architectures()) {
      auto client = pxe(a.code);
      client.ipxe = true;
      auto d = decide(mac, client);
      EXPECT_EQ(d.delivery, Delivery::kHttp);
      EXPECT_EQ(d.file, "http://192.0.2.1:8080/boot.ipxe");
      EXPECT_FALSE(d.http_client);
    }
  }
}

TEST_F(DecisionTest, ScriptUrlFollowsAdvertiseAndHttpPort) {
  config_->server.advertise = *Ipv4Address::parse("203.0.113.5");
  config_->server.http.listen.port = 80;
  EXPECT_EQ(decide(kMaster, ipxe()).file, "http://203.0.113.5:80/boot.ipxe");
}

TEST_F(DecisionTest, ScriptKinds) {
  auto install = decide(kMaster, pxe(0));
  EXPECT_EQ(install.script, ScriptKind::kInstall);
  ASSERT_NE(install.profile, nullptr);
  EXPECT_EQ(install.profile->name, "master");
  ASSERT_NE(install.boot_env, nullptr);
  EXPECT_EQ(install.boot_env->name, "boot-env");

  auto local = decide(kMaster, ipxe(), NodeStatus{NodeState::kInstalled});
  EXPECT_EQ(local.script, ScriptKind::kLocalBoot);
  EXPECT_EQ(local.profile, nullptr);

  auto discover = decide(kUnknown, pxe(0));
  EXPECT_EQ(discover.script, ScriptKind::kDiscover);
  ASSERT_NE(discover.boot_env, nullptr);
  // An undeclared machine discovers whatever record its provisional name has.
  EXPECT_EQ(decide(kUnknown, ipxe(), NodeStatus{NodeState::kInstalled}).script,
            ScriptKind::kDiscover);

  config_->defaults.unknown = cluster::UnknownPolicy::Ignore;
  auto ignored = decide(kUnknown, pxe(0));
  EXPECT_EQ(ignored.script, ScriptKind::kIgnore);
  EXPECT_EQ(ignored.delivery, Delivery::kNone);
  EXPECT_NE(ignored.reason.find("not in the inventory"), std::string::npos);
  EXPECT_EQ(decide(kUnknown, ipxe()).delivery, Delivery::kNone);

  config_->defaults.unknown = cluster::UnknownPolicy::Install;
  config_->defaults.profile = cluster::Located<std::string>{"worker", {}, "defaults.profile"};
  auto auto_install = decide(kUnknown, pxe(7));
  EXPECT_EQ(auto_install.script, ScriptKind::kInstall);
  EXPECT_EQ(auto_install.profile->name, "worker");
  EXPECT_EQ(auto_install.file, "snponly.efi");  // the install profile's loader
  EXPECT_EQ(decide(kUnknown, ipxe(), NodeStatus{NodeState::kJoined}).script,
            ScriptKind::kLocalBoot);
}

// How a `local` script reaches the disk: x64 UEFI chains the network GRUB, BIOS sanboots as
// it always did, other UEFI and a declaration without GRUB keep the sanboot script. The
// first file and the install script of a UEFI machine do not change.
TEST_F(DecisionTest, LocalBootPerFirmware) {
  auto uefi = localBoot(*config_, true, "x86_64");
  EXPECT_EQ(uefi.how, DiskHandoff::kGrub);
  EXPECT_NE(uefi.reason.find("grubnetx64.efi"), std::string::npos) << uefi.reason;
  EXPECT_EQ(localBoot(*config_, false, "i386").how, DiskHandoff::kSanboot);
  EXPECT_EQ(localBoot(*config_, false, "x86_64").how, DiskHandoff::kSanboot);
  EXPECT_EQ(localBoot(*config_, true, "arm64").how, DiskHandoff::kSanboot);
  EXPECT_EQ(localBoot(*config_, true, "").how, DiskHandoff::kSanboot);
  auto off = *config_;
  off.server.boot.grub_efi.clear();
  auto sanboot = localBoot(off, true, "x86_64");
  EXPECT_EQ(sanboot.how, DiskHandoff::kSanboot);
  EXPECT_NE(sanboot.reason.find("grub_efi is off"), std::string::npos) << sanboot.reason;

  // An installed x64 UEFI machine still starts with the iPXE loader and gets `local`; a
  // blank one installs through iPXE as before.
  const NodeStatus installed{NodeState::kInstalled};
  auto first = decide(kMaster, pxe(7), installed);
  EXPECT_EQ(first.file, "ipxe.efi");
  EXPECT_EQ(first.script, ScriptKind::kLocalBoot);
  EXPECT_EQ(decide(kMaster, ipxe(), installed).script, ScriptKind::kLocalBoot);
  auto blank = decide(kMaster, pxe(7));
  EXPECT_EQ(blank.file, "ipxe.efi");
  EXPECT_EQ(blank.script, ScriptKind::kInstall);
}

// The script route reads the store only when the decision depends on it.
TEST_F(DecisionTest, OnlyDeclaredOrAutoInstalledMachinesDependOnTheirState) {
  inv_ = cluster::Inventory::build(config_);
  const auto match = [&](std::string_view mac) {
    return inv_.match(*MacAddress::parse(mac), std::nullopt);
  };
  EXPECT_TRUE(dependsOnState(match(kMaster)));
  EXPECT_FALSE(dependsOnState(match(kUnknown)));  // discover
  config_->defaults.unknown = cluster::UnknownPolicy::Ignore;
  inv_ = cluster::Inventory::build(config_);
  EXPECT_FALSE(dependsOnState(match(kUnknown)));
  config_->defaults.unknown = cluster::UnknownPolicy::Install;
  config_->defaults.profile = cluster::Located<std::string>{"worker", {}, "defaults.profile"};
  inv_ = cluster::Inventory::build(config_);
  EXPECT_TRUE(dependsOnState(match(kUnknown)));
}

TEST_F(DecisionTest, ProfileWithoutInstallBootsLocalDisk) {
  config_->profiles.at("master").install.reset();
  EXPECT_EQ(decide(kMaster, pxe(0)).script, ScriptKind::kLocalBoot);
}

TEST_F(DecisionTest, FailedAndCaptureFollowTheState) {
  auto failed = decide(kMaster, ipxe(), NodeStatus{NodeState::kFailed});
  EXPECT_EQ(failed.script, ScriptKind::kFailed);
  auto capture = decide(kMaster, ipxe(), NodeStatus{NodeState::kJoined, false, true});
  EXPECT_EQ(capture.script, ScriptKind::kCapture);
  ASSERT_NE(capture.boot_env, nullptr);
  EXPECT_EQ(capture.profile->name, "master");
}

// The script from the node state alone.
// profiles.*.boot.secure_boot: x64 UEFI PXE gets the signed shim over TFTP; iPXE, BIOS,
// arm64 and HTTP boot get nothing, each with the reason; the script kind is unchanged.
TEST_F(DecisionTest, SecureBootProfilesAreOnlyOfferedTheSignedChain) {
  config_->profiles.at("worker").secure_boot = true;
  auto d = decide(kWorker, pxe(7));
  EXPECT_EQ(d.delivery, Delivery::kTftp);
  EXPECT_EQ(d.file, kShimEfiName);
  EXPECT_EQ(d.script, ScriptKind::kInstall);
  EXPECT_NE(d.reason.find("boots with Secure Boot"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("signed shim"), std::string::npos) << d.reason;
  EXPECT_EQ(decide(kWorker, pxe(9)).file, kShimEfiName);
  for (const auto& client : {pxe(0), pxe(11), pxe(16), pxe(19), ipxe()}) {
    auto none = decide(kWorker, client);
    EXPECT_EQ(none.delivery, Delivery::kNone) << client.vendor_class << " ipxe=" << client.ipxe;
    EXPECT_TRUE(none.file.empty()) << none.file;
    EXPECT_NE(none.reason.find("no boot file"), std::string::npos) << none.reason;
  }
  EXPECT_NE(decide(kWorker, pxe(16)).reason.find("over HTTP"), std::string::npos);
  EXPECT_EQ(decide(kWorker, ipxe(), NodeStatus{NodeState::kInstalled}).script,
            ScriptKind::kLocalBoot);
  // Other profiles are unchanged.
  EXPECT_EQ(decide(kMaster, pxe(7)).file, "ipxe.efi");
}

TEST(ScriptForState, EveryState) {
  auto st = [](NodeState s, bool reinstall = false, bool capture = false) {
    return std::optional<NodeStatus>(NodeStatus{s, reinstall, capture});
  };
  EXPECT_EQ(scriptForState(std::nullopt), ScriptKind::kInstall);
  EXPECT_EQ(scriptForState(st(NodeState::kDiscovered)), ScriptKind::kInstall);
  EXPECT_EQ(scriptForState(st(NodeState::kInstalling)), ScriptKind::kInstall);
  // A power-on of an installed node boots the disk, never a reinstall.
  EXPECT_EQ(scriptForState(st(NodeState::kInstalled)), ScriptKind::kLocalBoot);
  EXPECT_EQ(scriptForState(st(NodeState::kJoined)), ScriptKind::kLocalBoot);
  EXPECT_EQ(scriptForState(st(NodeState::kFailed)), ScriptKind::kFailed);
  EXPECT_EQ(scriptForState(st(NodeState::kJoined, true)), ScriptKind::kInstall);
  EXPECT_EQ(scriptForState(st(NodeState::kFailed, true)), ScriptKind::kInstall);
  // A pending capture boots the capture before a reinstall ...
  EXPECT_EQ(scriptForState(st(NodeState::kInstalled, false, true)), ScriptKind::kCapture);
  EXPECT_EQ(scriptForState(st(NodeState::kJoined, true, true)), ScriptKind::kCapture);
  // ... but a flag left on a node that lost its disk meanwhile does not capture it.
  EXPECT_EQ(scriptForState(st(NodeState::kFailed, false, true)), ScriptKind::kFailed);
}

TEST(ScriptForState, WholeLifeWithReinstall) {
  using E = state::NodeEvent;
  std::optional<NodeStatus> s;
  for (E e : {E::kRegistered, E::kInstalled, E::kJoined}) s = *state::transition(s, e);
  EXPECT_EQ(scriptForState(s), ScriptKind::kLocalBoot);
  s = *state::transition(s, E::kReinstallRequested);
  EXPECT_EQ(scriptForState(s), ScriptKind::kInstall);
}

}  // namespace
}  // namespace drover::boot
