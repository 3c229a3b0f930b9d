#include "boot/template_check.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/cluster/config_text.hpp"

namespace drover::boot {
namespace {

namespace fs = std::filesystem;

class TemplateCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("drover-tcheck-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  cluster::Diagnostics check(const std::string& template_text) {
    std::ofstream(dir_ / "node.yaml.mustache") << template_text;
    // The inventory tests' minimal declaration, with a cloud-config template on its profile.
    std::string yaml = cluster::kMinimalConfig;
    const std::string install = "    install: { image: os }\n";
    yaml.replace(yaml.find(install), install.size(),
                 install + "    cloud_config: node.yaml.mustache\n");
    cloud_config_line_ = 1 + static_cast<int>(std::count(
                                 yaml.begin(), yaml.begin() + yaml.find("cloud_config"), '\n'));
    auto loaded = cluster::loadConfigText(yaml, "cluster.yaml", dir_);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    if (!loaded.config) return {};
    return checkTemplates(cluster::Inventory::build(loaded.config));
  }

  fs::path dir_;
  int cloud_config_line_ = 0;
};

TEST_F(TemplateCheck, KnownNamesPass) {
  EXPECT_TRUE(check("#cloud-config\nhostname: {{node.name}}\n{{#network.gateway}}gw: "
                    "{{network.gateway}}{{/network.gateway}}\n"
                    "{{#ssh_authorized_keys}}- {{.}}\n{{/ssh_authorized_keys}}"
                    "{{#cluster.members}}{{name}}={{ip}}\n{{/cluster.members}}")
                  .empty());
}

TEST_F(TemplateCheck, AMissingNameIsAnErrorAtTheProfileKey) {
  auto errors = check("#cloud-config\nhostname: {{node.name}}\nrole: {{node.role}}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "profiles.os.cloud_config");
  EXPECT_EQ(errors[0].pos.line, cloud_config_line_);
  EXPECT_NE(errors[0].message.find("node.role"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].message.find(" 3:"), std::string::npos) << errors[0].message;
}

TEST_F(TemplateCheck, ASyntaxErrorIsReported) {
  auto errors = check("#cloud-config\nhostname: {{#node.name}}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "profiles.os.cloud_config");
}

// server.boot.grub_efi: a file that must exist (relative to the declaration's folder), or ""
// to turn the GRUB handoff off.
TEST_F(TemplateCheck, TheNetworkGrubMustExistUnlessTurnedOff) {
  auto load = [&](const std::string& boot) {
    std::string yaml = cluster::kMinimalConfig;
    yaml.replace(yaml.find("networks:"), 0, boot);
    auto loaded = cluster::loadConfigText(yaml, "cluster.yaml", dir_);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    return loaded.config;
  };
  auto missing = load("  boot: { grub_efi: grub/netx64.efi }\n");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->server.boot.grub_efi, (dir_ / "grub/netx64.efi").string());
  auto errors = checkBootFiles(*missing);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "server.boot.grub_efi");
  EXPECT_NE(errors[0].message.find("no such file"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].message.find("grub-efi-amd64-signed"), std::string::npos)
      << errors[0].message;

  fs::create_directories(dir_ / "grub");
  std::ofstream(dir_ / "grub/netx64.efi") << "MZ";
  EXPECT_TRUE(checkBootFiles(*missing).empty());
  fs::create_directories(dir_ / "grub/dir.efi");
  EXPECT_EQ(checkBootFiles(*load("  boot: { grub_efi: grub/dir.efi }\n")).size(), 1u);

  auto off = load("  boot: { grub_efi: \"\" }\n");
  ASSERT_TRUE(off);
  EXPECT_TRUE(off->server.boot.grub_efi.empty());
  EXPECT_TRUE(checkBootFiles(*off).empty());
  auto by_default = load("");
  EXPECT_EQ(by_default->server.boot.grub_efi,
            "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed");
}

}  // namespace
// A profile with boot.secure_boot needs the signed shim and the network GRUB.
TEST_F(TemplateCheck, SecureBootNeedsTheShimAndTheNetworkGrub) {
  auto load = [&](const std::string& boot, bool secure) {
    std::string yaml = cluster::kMinimalConfig;
    yaml.replace(yaml.find("networks:"), 0, boot);
    if (secure) yaml.replace(yaml.find("    install: { image: os }"), 0, "    boot: { secure_boot: true }\n");
    auto loaded = cluster::loadConfigText(yaml, "cluster.yaml", dir_);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    return loaded.config;
  };
  fs::create_directories(dir_ / "efi");
  std::ofstream(dir_ / "efi/grubnetx64.efi") << "MZ";
  const std::string grub = "  boot: { grub_efi: efi/grubnetx64.efi, shim_efi: efi/shimx64.efi }\n";
  EXPECT_TRUE(checkBootFiles(*load(grub, false)).empty());  // no profile asks for it
  auto secure = load(grub, true);
  ASSERT_TRUE(secure);
  EXPECT_TRUE(secure->profiles.at("os").secure_boot);
  EXPECT_EQ(secure->server.boot.shim_efi, (dir_ / "efi/shimx64.efi").string());
  auto errors = checkBootFiles(*secure);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "server.boot.shim_efi");
  EXPECT_NE(errors[0].message.find("shim-signed"), std::string::npos) << errors[0].message;
  std::ofstream(dir_ / "efi/shimx64.efi") << "MZ";
  EXPECT_TRUE(checkBootFiles(*secure).empty());
  auto no_grub = load("  boot: { grub_efi: \"\", shim_efi: efi/shimx64.efi }\n", true);
  errors = checkBootFiles(*no_grub);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "profiles.os.boot.secure_boot");
  EXPECT_EQ(load("", false)->server.boot.shim_efi, "/usr/lib/shim/shimx64.efi.signed");
}

}  // namespace drover::boot
