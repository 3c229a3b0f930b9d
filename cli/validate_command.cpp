// drover validate FILE: load and check a cluster declaration without serving.
#include <ostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "boot/template_check.hpp"
#include "cli/commands.hpp"
#include "cluster/loader.hpp"
#include "common/log.hpp"

namespace drover::cli {
namespace {

std::string count(std::size_t n, std::string_view what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

}  // namespace

int runValidate(const std::string& file, std::ostream& out, std::ostream& err) {
  auto result = cluster::loadConfigFile(file);
  if (result.ok()) {
    // Templates are checked against the data they are rendered with.
    auto problems = boot::checkTemplates(cluster::Inventory::build(result.config));
    result.errors.insert(result.errors.end(), problems.begin(), problems.end());
    auto files = boot::checkBootFiles(*result.config);
    result.errors.insert(result.errors.end(), files.begin(), files.end());
  }
  if (!result.ok()) {
    for (const auto& e : result.errors) err << e.str() << '\n';
    err << file << ": " << count(result.errors.size(), "error") << '\n';
    log::get("inventory")->debug("CONFIG_INVALID file={} errors={}", file, result.errors.size());
    return 1;
  }
  const auto& c = *result.config;
  out << fmt::format("{}: ok: {}, {}, {}, {}\n", file, count(c.networks.size(), "network"),
                     count(c.images.size(), "image"), count(c.profiles.size(), "profile"),
                     count(c.nodes.size(), "node"));
  log::get("inventory")->debug("CONFIG_VALID file={} nodes={}", file, c.nodes.size());
  return 0;
}

void addValidateCommand(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand("validate", "Check a cluster declaration and report every error");
  auto file = std::make_shared<std::string>();
  cmd->add_option("FILE", *file, "cluster declaration (YAML)")->required();
  cmd->callback([&ctx, file] { ctx.exit_code = runValidate(*file, ctx.out, ctx.err); });
}

}  // namespace drover::cli
