// drover: the provisioner's command line.
#include <CLI/CLI.hpp>

#include "common/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"drover: bare-metal cluster provisioner"};
  app.set_version_flag("--version", std::string(drover::kVersion));
  CLI11_PARSE(app, argc, argv);
  std::puts(app.help().c_str());
  return 0;
}
