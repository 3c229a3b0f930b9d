// drover: the provisioner's command line. Parses flags and hands over to one subcommand;
// start-up exceptions are caught here, once.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "common/journal/sink.hpp"
#include "common/log.hpp"
#include "common/log_sink.hpp"
#include "common/version.hpp"

int main(int argc, char** argv) {
  try {
    CLI::App app{"drover: bare-metal cluster provisioner"};
    app.set_version_flag("--version", std::string(drover::kVersion));
    app.require_subcommand(1);
    std::string level = "warn";
    app.add_option("--log-level", level, "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
        ->capture_default_str();
    std::string target = "auto";
    app.add_option("--log-target", target,
                   "journal, stderr or auto (the journal when stderr is journald's stream)")
        ->check(CLI::IsMember({"auto", "journal", "stderr"}))
        ->capture_default_str();
    app.parse_complete_callback([&level, &target] {
      drover::log::setup(level);
      const auto journal = drover::journal::useJournal(target);
      if (!journal) throw CLI::ValidationError("--log-target", journal.error().message);
      if (*journal) drover::log::useSink(drover::journal::makeSink());
    });

    drover::cli::Context ctx{std::cout, std::cerr};
    drover::cli::addInitCommand(app, ctx);
    drover::cli::addValidateCommand(app, ctx);
    drover::cli::addConfigReferenceCommand(app, ctx);
    drover::cli::addExplainCommand(app, ctx);
    drover::cli::addServeCommand(app, ctx);
    drover::cli::addNodesCommands(app, ctx);
    drover::cli::addPowerCommand(app, ctx);
    drover::cli::addImagesCommands(app, ctx);
    drover::cli::addSimCommand(app, ctx);

    CLI11_PARSE(app, argc, argv);
    return ctx.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "drover: " << e.what() << '\n';
    return 1;
  }
}
