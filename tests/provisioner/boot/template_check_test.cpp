#include "provisioner/boot/template_check.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "provisioner/inventory/loader.hpp"

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

  inventory::Diagnostics check(const std::string& template_text) {
    std::ofstream(dir_ / "node.yaml.mustache") << template_text;
    const std::string yaml = R"(server:
  advertise: 192.0.2.1
networks:
  - name: lab
    subnet: 192.0.2.0/24
images:
  boot-env:
    kernel: { path: /srv/vmlinuz }
    initrd: { path: /srv/initrd.img }
  os:
    disk: { path: /srv/os.raw }
profiles:
  node:
    install: { image: os, disk: /dev/vda }
    cloud_config: node.yaml.mustache
nodes:
  - name: n1
    mac: 52:54:00:12:34:56
    ip: 192.0.2.10
    profile: node
)";
    auto loaded = inventory::loadConfigText(yaml, "cluster.yaml", dir_);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    if (!loaded.config) return {};
    return checkTemplates(inventory::Inventory::build(loaded.config));
  }

  fs::path dir_;
};

TEST_F(TemplateCheck, KnownNamesPass) {
  EXPECT_TRUE(check("#cloud-config\nhostname: {{node.name}}\n{{#network.gateway}}gw: {{network.gateway}}{{/network.gateway}}\n"
                    "{{#ssh_authorized_keys}}- {{.}}\n{{/ssh_authorized_keys}}"
                    "{{#cluster.members}}{{name}}={{ip}}\n{{/cluster.members}}")
                  .empty());
}

TEST_F(TemplateCheck, AMissingNameIsAnErrorAtTheProfileKey) {
  auto errors = check("#cloud-config\nhostname: {{node.name}}\nrole: {{node.role}}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "profiles.node.cloud_config");
  EXPECT_EQ(errors[0].pos.line, 15);
  EXPECT_NE(errors[0].message.find("node.role"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].message.find(" 3:"), std::string::npos) << errors[0].message;
}

TEST_F(TemplateCheck, ASyntaxErrorIsReported) {
  auto errors = check("#cloud-config\nhostname: {{#node.name}}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "profiles.node.cloud_config");
}

}  // namespace
}  // namespace drover::boot
