// drover-agent: runs in the boot environment (install mode) and on the installed OS (join mode).
#include <CLI/CLI.hpp>

#include <cstdio>

#include "agent/inventory.hpp"
#include "common/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"drover-agent: registers this machine with Drover, installs and joins"};
  app.set_version_flag("--version", std::string(drover::kVersion));
  std::string root = "/";
  auto* inv = app.add_subcommand("inventory", "print the hardware facts sent to the server");
  inv->add_option("--root", root, "read /proc and /sys under this directory");
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  if (*inv) {
    std::puts(drover::agent::factsToJson(drover::agent::collectFacts(root)).dump(2).c_str());
  }
  return 0;
}
