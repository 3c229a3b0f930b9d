// Every configs/*.yaml must load cleanly, so the examples cannot rot; so must the reference
// shape of a declaration (/work/shared/examples/cluster.yaml, beside the clone), for
// `drover validate` and for `drover serve`.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "cli/commands.hpp"
#include "cluster/inventory.hpp"
#include "cluster/loader.hpp"
#include "server/app.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::cli {
namespace {

namespace fs = std::filesystem;

fs::path sourceDir() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return src ? src : ".";
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The reference shape copied into `dir` with its /var/lib/drover paths pointed there, and the
// cloud-config templates it names beside it.
fs::path copyReferenceExample(const fs::path& dir) {
  const auto text = readFile(sourceDir() / "../shared/examples/cluster.yaml");
  if (text.empty()) return {};
  test::writeFile(dir / "cluster.yaml",
                  std::regex_replace(text, std::regex("/var/lib/drover"), dir.string()));
  fs::copy(sourceDir() / "configs/templates", dir / "templates", fs::copy_options::recursive);
  return dir / "cluster.yaml";
}

TEST(Configs, ReferenceExampleValidatesAndServes) {
  test::TempDir tmp("reference-example");
  const auto file = copyReferenceExample(tmp.path());
  ASSERT_FALSE(file.empty()) << "no shared/examples/cluster.yaml beside the source tree";
  std::ostringstream out, err;
  EXPECT_EQ(runValidate(file.string(), out, err), 0) << err.str();
  EXPECT_EQ(out.str(), file.string() + ": ok: 2 networks, 2 images, 2 profiles, 3 nodes\n");
  auto loaded = server::loadSnapshot(file.string());  // what drover serve loads
  std::string errors;
  for (const auto& e : loaded.errors) errors += e.str() + "\n";
  EXPECT_TRUE(loaded.snapshot) << errors;
}

// server.state.path is the database file itself; its folder holds the rest of the state.
TEST(Configs, ServeOpensTheDatabaseStatePathNames) {
  test::TempDir tmp("state-path");
  const auto file = copyReferenceExample(tmp.path());
  ASSERT_FALSE(file.empty());
  auto text = readFile(file);
  text =
      std::regex_replace(text, std::regex("path: [^ ]*/state\\.db"), "path: state/cluster.sqlite");
  test::writeFile(file, text);
  auto app = server::App::create(
      {.config_path = file.string(), .state_dir = {}, .dhcp = false, .tftp = false});
  ASSERT_TRUE(app.ok()) << app.error().message;
  EXPECT_TRUE(fs::is_regular_file(tmp.path() / "state/cluster.sqlite"));
  EXPECT_FALSE(fs::exists(tmp.path() / "state/state.db"));
  EXPECT_EQ((*app)->stateDir(), tmp.path() / "state");
  EXPECT_TRUE(fs::exists(tmp.path() / "state/operator.token"));
}

TEST(Configs, EveryExampleValidates) {
  const fs::path dir = sourceDir() / "configs";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  ASSERT_GE(files.size(), 4u) << "expected cluster, minimal, proxy and relay examples";
  for (const auto& file : files) {
    auto r = cluster::loadConfigFile(file.string());
    std::string errors;
    for (const auto& e : r.errors) errors += e.str() + "\n";
    EXPECT_TRUE(r.ok()) << errors;
    if (!r.ok()) continue;
    // Every node of an example is recognised by its own MAC or UUID.
    auto inv = cluster::Inventory::build(r.config);
    for (const auto& node : r.config->nodes) {
      auto m = node.macs.empty() ? inv.match(MacAddress(), node.uuid->value)
                                 : inv.match(node.macs.front().value, std::nullopt);
      EXPECT_EQ(m.node, &node) << file << " " << node.name.value;
    }
  }
}

}  // namespace
}  // namespace drover::cli
