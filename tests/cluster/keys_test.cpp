// The key table (cluster/keys.hpp): the loader accepts exactly its keys, and the key
// reference in docs/configuration.md is what the table renders.
#include "cluster/keys.hpp"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/loader.hpp"
#include "tests/cluster/config_text.hpp"

namespace drover::cluster {
namespace {

using ::testing::ElementsAre;

std::vector<std::string_view> under(std::string_view section) {
  auto keys = keysUnder(section);
  return {keys.begin(), keys.end()};
}

TEST(Keys, SectionsComeFromTheTablePaths) {
  EXPECT_THAT(under(""), ElementsAre("server", "networks", "trust", "images", "profiles",
                                     "defaults", "nodes", "pod_network"));
  EXPECT_THAT(under("pod_network"), ElementsAre("cidr", "subnet_length", "backend", "lease_ttl"));
  EXPECT_THAT(under("server.state"),
              ElementsAre("backend", "path", "endpoints", "prefix", "replica_ttl", "ca_file"));
  EXPECT_THAT(under("server.http"), ElementsAre("listen"));
  EXPECT_THAT(under("networks[]"), ElementsAre("name", "subnet", "mode", "pool", "gateway", "dns",
                                               "domain", "lease", "always_send"));
  EXPECT_THAT(under("images"), ElementsAre("*"));
  EXPECT_THAT(under("<file>.signature"), ElementsAre("path", "url", "key"));
  EXPECT_THAT(under("nodes[].labels"), ElementsAre("*"));
  EXPECT_THAT(under("profiles.*.join"), ElementsAre("runtime", "recipe", "image", "image_ref"));
}

TEST(Keys, AKeyWithoutAnEntryIsRefused) {
  std::string text = kMinimalConfig;
  text.replace(text.find("networks:"), 0, "  state: { endpoint: [\"http://127.0.0.1:2379\"] }\n");
  auto r = loadConfigText(text, "c.yaml", "/");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(),
            "c.yaml:3:12: server.state.endpoint: unknown key (expected one of: backend, path, "
            "endpoints, prefix, replica_ttl, ca_file)");
}

TEST(Keys, EveryPathIsDocumented) {
  for (const auto& k : configKeys()) {
    EXPECT_FALSE(k.type.empty()) << k.path;
    EXPECT_FALSE(k.default_value.empty()) << k.path;
    EXPECT_FALSE(k.doc.empty()) << k.path;
    EXPECT_EQ(k.doc.find('\n'), std::string_view::npos) << k.path;
  }
}

// When this fails after a change to cluster/keys.cpp, regenerate the reference with
//   build/bin/drover config-reference --update docs/configuration.md
// and commit the result.
TEST(Keys, DocumentationReferenceMatchesTheTable) {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/docs/configuration.md", std::ios::binary);
  ASSERT_TRUE(in);
  std::ostringstream text;
  text << in.rdbuf();
  auto regenerated = withConfigReference(text.str());
  ASSERT_TRUE(regenerated.ok()) << regenerated.error().message;
  EXPECT_TRUE(*regenerated == text.str())
      << "docs/configuration.md's key reference differs from cluster/keys.cpp; regenerate it with "
         "`build/bin/drover config-reference --update docs/configuration.md`";
}

}  // namespace
}  // namespace drover::cluster
