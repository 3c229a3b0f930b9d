// Join recipes in the declaration: an unknown name is refused with its position and the
// known names, an etcd member needs the node's ip (a proxy does not), no recipe is fine, and the
// profile's etcd image options are read (with their defaults).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/checks.hpp"
#include "cluster/loader.hpp"
#include "tests/cluster/recipe_config.hpp"

namespace drover::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Profile p installs os; `join` is its join line (or empty).
std::string declaration(const std::string& join, const std::string& nodes) {
  return testing::recipeDeclaration("  p:\n    install: { image: os }\n" + join, nodes);
}

std::vector<std::string> errorsOf(const std::string& text) {
  auto loaded = loadConfigText(text, "cluster.yaml", "/");
  std::vector<std::string> out;
  for (const auto& e : loaded.errors) out.push_back(e.str());
  return out;
}

TEST(Recipes, KnownRecipesAreTheBuiltInOnes) {
  EXPECT_THAT(std::vector<std::string_view>(joinRecipes().begin(), joinRecipes().end()),
              ElementsAre("etcd-member", "etcd-proxy"));
  EXPECT_TRUE(recipeNeedsIp("etcd-member"));
  EXPECT_FALSE(recipeNeedsIp("etcd-proxy"));  // the gateway listens on 0.0.0.0
  EXPECT_FALSE(recipeNeedsIp(""));
}

TEST(Recipes, UnknownRecipeIsRefusedWithPositionAndKnownNames) {
  auto errors = errorsOf(declaration("    join: { runtime: containerd, recipe: k3s-server }\n",
                                     "  - { name: a, mac: 52:54:00:00:00:01, ip: 192.0.2.10, profile: p }\n"));
  EXPECT_THAT(errors, ElementsAre("cluster.yaml:14:42: profiles.p.join.recipe: unknown recipe \"k3s-server\"; "
                                  "known recipes: etcd-member, etcd-proxy"));
}

TEST(Recipes, EtcdRecipeNeedsTheNodesIp) {
  auto errors = errorsOf(declaration("    join: { recipe: etcd-member }\n",
                                     "  - { name: a, mac: 52:54:00:00:00:01, ip: 192.0.2.10, profile: p }\n"
                                     "  - { name: b, mac: 52:54:00:00:00:02, profile: p }\n"));
  EXPECT_THAT(errors, ElementsAre("cluster.yaml:17:5: nodes[1]: profile \"p\" joins with recipe etcd-member, "
                                  "which needs the node's ip: declare ip here"));
}

TEST(Recipes, ProxyNodeWithoutAnyMemberIsRefused) {
  auto errors = errorsOf(declaration("    join: { runtime: containerd, recipe: etcd-proxy }\n",
                                     "  - { name: a, mac: 52:54:00:00:00:01, ip: 192.0.2.10, profile: p }\n"));
  EXPECT_THAT(errors, ElementsAre("cluster.yaml:16:5: nodes[0]: profile \"p\" joins with recipe etcd-proxy, which "
                                  "needs a declared node that joins with etcd-member"));
}

TEST(Recipes, PoolAddressedProxyIsAccepted) {
  auto loaded = loadConfigText(
      testing::recipeDeclaration(
          "  m:\n    install: { image: os }\n    join: { recipe: etcd-member }\n"
          "  w:\n    install: { image: os }\n    join: { recipe: etcd-proxy }\n",
          "  - { name: a, mac: 52:54:00:00:00:01, ip: 192.0.2.10, profile: m }\n"
          "  - { name: b, uuid: 8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162, profile: w }\n"),
      "cluster.yaml", "/");
  EXPECT_THAT(loaded.errors, IsEmpty());
}

TEST(Recipes, NoRecipeNeedsNoIp) {
  auto loaded = loadConfigText(declaration("", "  - { name: b, mac: 52:54:00:00:00:02, profile: p }\n"),
                               "cluster.yaml", "/");
  EXPECT_THAT(loaded.errors, IsEmpty());
  ASSERT_TRUE(loaded.config);
  EXPECT_EQ(loaded.config->profiles.at("p").join.recipe, "");
}

TEST(Recipes, ImageOptionsHaveDefaultsAndAreRead) {
  auto loaded = loadConfigText(declaration("    join: { recipe: etcd-member }\n",
                                           "  - { name: a, mac: 52:54:00:00:00:01, ip: 192.0.2.10, profile: p }\n"),
                               "cluster.yaml", "/");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
  const auto& j = loaded.config->profiles.at("p").join;
  EXPECT_EQ(j.image, "/var/lib/drover/images/etcd.oci.tar");
  EXPECT_EQ(j.image_ref, "gcr.io/etcd-development/etcd:v3.4.23");

  loaded = loadConfigText(declaration("    join: { recipe: etcd-member, image: /opt/etcd.tar, image_ref: "
                                      "registry.lab/etcd:3.5 }\n",
                                      "  - { name: a, mac: 52:54:00:00:00:01, ip: 192.0.2.10, profile: p }\n"),
                          "cluster.yaml", "/");
  ASSERT_TRUE(loaded.config);
  EXPECT_EQ(loaded.config->profiles.at("p").join.image, "/opt/etcd.tar");
  EXPECT_EQ(loaded.config->profiles.at("p").join.image_ref, "registry.lab/etcd:3.5");
}

TEST(Recipes, BadImageOptionsAreRefused) {
  auto errors = errorsOf(declaration("    join: { recipe: etcd-member, image: etcd.tar, image_ref: \"a b\" }\n",
                                     "  - { name: a, mac: 52:54:00:00:00:01, ip: 192.0.2.10, profile: p }\n"));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], ::testing::HasSubstr("profiles.p.join.image:"));
  EXPECT_THAT(errors[1], ::testing::HasSubstr("profiles.p.join.image_ref: \"a b\" is not a container image reference"));
}

}  // namespace
}  // namespace drover::cluster
