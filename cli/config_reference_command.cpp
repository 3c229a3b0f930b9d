// drover config-reference [--update FILE]: the key reference of the cluster declaration,
// rendered from the key table (cluster/keys.hpp). Without --update it is printed; with it,
// the generated part of FILE (between the markers) is rewritten in place.
#include <fstream>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cluster/keys.hpp"

namespace drover::cli {

int runConfigReference(const std::string& update, std::ostream& out, std::ostream& err) {
  if (update.empty()) {
    out << cluster::configReference() << '\n';
    return 0;
  }
  std::ifstream in(update, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    err << update << ": cannot read the file\n";
    return 1;
  }
  auto doc = cluster::withConfigReference(text.str());
  if (!doc) {
    err << update << ": " << doc.error().message << '\n';
    return 1;
  }
  std::ofstream o(update, std::ios::binary | std::ios::trunc);
  if (!(o << *doc) || !o.flush()) {
    err << update << ": cannot write the file\n";
    return 1;
  }
  return 0;
}

void addConfigReferenceCommand(CLI::App& root, Context& ctx) {
  auto* cmd =
      root.add_subcommand("config-reference", "Print the declaration's key reference (Markdown)");
  auto update = std::make_shared<std::string>();
  cmd->add_option("--update", *update,
                  "Rewrite the generated part of this file (docs/configuration.md)");
  cmd->callback([&ctx, update] { ctx.exit_code = runConfigReference(*update, ctx.out, ctx.err); });
}

}  // namespace drover::cli
