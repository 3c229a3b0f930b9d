// Every configs/*.yaml must load cleanly, so the examples cannot rot.
#include <filesystem>

#include <gtest/gtest.h>

#include "cluster/inventory.hpp"
#include "cluster/loader.hpp"

namespace drover::cli {
namespace {

namespace fs = std::filesystem;

TEST(Configs, EveryExampleValidates) {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  const fs::path dir = fs::path(src ? src : ".") / "configs";
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
