// drover-agent: runs in the boot environment (install mode) and on the installed OS (join mode).
#include <CLI/CLI.hpp>

#include "common/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"drover-agent: registers this machine with Drover, installs and joins"};
  app.set_version_flag("--version", std::string(drover::kVersion));
  app.require_subcommand(0);
  CLI11_PARSE(app, argc, argv);
  std::puts(app.help().c_str());
  return 0;
}
