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
    yaml.replace(yaml.find(install), install.size(), install + "    cloud_config: node.yaml.mustache\n");
    cloud_config_line_ = 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + yaml.find("cloud_config"), '\n'));
    auto loaded = cluster::loadConfigText(yaml, "cluster.yaml", dir_);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    if (!loaded.config) return {};
    return checkTemplates(cluster::Inventory::build(loaded.config));
  }

  fs::path dir_;
  int cloud_config_line_ = 0;
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

}  // namespace
}  // namespace drover::boot
