// drover explain: which node a machine is, and how it will boot.
#include <CLI/CLI.hpp>

#include "provisioner/app/commands.hpp"

namespace drover::app {

void addExplainCommand(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand("explain", "Show how a machine would be matched and booted");
  cmd->callback([&ctx] {
    ctx.err << "drover explain: not available yet\n";
    ctx.exit_code = 1;
  });
}

}  // namespace drover::app
