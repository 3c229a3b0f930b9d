// Every cloud-config template under configs/templates renders with sample node data and
// the result passes `cloud-init schema --config-file` (the real validator).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "templates/template.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::templates {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

fs::path sourceDir() {
  const char* env = std::getenv("DROVER_SOURCE_DIR");
  return env ? fs::path(env) : fs::current_path();
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The shape the provisioner renders per-node templates with (node, network, server,
// ssh_authorized_keys, cluster); absent values are "".
Json sampleData(bool with_domain) {
  return {{"node",
           {{"name", "worker-1"},
            {"hostname", "worker-1"},
            {"mac", "52:54:00:12:34:57"},
            {"ip", "192.0.2.11"},
            {"uuid", ""},
            {"labels", {{"rack", "r1"}}},
            {"profile", "worker"}}},
          {"network",
           {{"name", "rack1"},
            {"subnet", "192.0.2.0/24"},
            {"netmask", "255.255.255.0"},
            {"prefix", "24"},
            {"gateway", "192.0.2.1"},
            {"dns", {"192.0.2.1"}},
            {"domain", with_domain ? "lab.example" : ""}}},
          {"server", {{"advertise", "192.0.2.1"}, {"http", "http://192.0.2.1:8080"}, {"api", "https://192.0.2.1:8443"}}},
          {"ssh_authorized_keys", {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForDocs admin@lab"}},
          {"cluster",
           {{"recipe", "etcd-member"},
            {"members", Json::array({{{"name", "master-1"}, {"ip", "192.0.2.10"}},
                                     {{"name", "worker-1"}, {"ip", "192.0.2.11"}}})}}}};
}

std::pair<int, std::string> schemaCheck(const fs::path& file) {
  std::string cmd = "cloud-init schema --config-file '" + file.string() + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  return {::pclose(p), out};
}

TEST(CloudConfigTest, TemplatesRenderToValidCloudConfig) {
  fs::path dir = sourceDir() / "configs" / "templates";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  const ::drover::test::TempDir tmp("drover-cc");
  const fs::path& out_dir = tmp.path();
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".mustache") continue;
    for (bool domain : {true, false}) {
      auto rendered = render(entry.path().filename().string(), slurp(entry.path()), sampleData(domain));
      ASSERT_TRUE(rendered.ok()) << rendered.error().message;
      EXPECT_EQ(rendered->rfind("#cloud-config\n", 0), 0u);
      EXPECT_NE(rendered->find("worker-1"), std::string::npos);
      fs::path out = out_dir / (entry.path().stem().string() + (domain ? ".d" : ".nod") + ".yaml");
      std::ofstream(out) << *rendered;
      auto [status, text] = schemaCheck(out);
      EXPECT_EQ(status, 0) << out << "\n" << text << "\n" << *rendered;
      EXPECT_NE(text.find("Valid cloud-config"), std::string::npos) << text;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);

  // The validator does catch a bad render: a list where a string belongs.
  fs::path bad = out_dir / "bad.yaml";
  std::ofstream(bad) << "#cloud-config\nhostname: [not, a, string]\n";
  EXPECT_NE(schemaCheck(bad).first, 0);
}

TEST(CloudConfigTest, MissingDataIsAnErrorNotAnEmptyString) {
  fs::path dir = sourceDir() / "configs" / "templates";
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".mustache") continue;
    Json data = sampleData(true);
    data["node"].erase("ip");
    auto r = render(entry.path().filename().string(), slurp(entry.path()), data);
    ASSERT_FALSE(r.ok()) << entry.path();
    EXPECT_NE(r.error().message.find("missing 'node.ip'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(entry.path().filename().string()), std::string::npos);
  }
}

}  // namespace
}  // namespace drover::templates
