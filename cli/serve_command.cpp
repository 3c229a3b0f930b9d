// drover serve --config FILE: runs DHCP, TFTP, HTTP and the API until SIGTERM.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/packaged_starter.hpp"
#include "server/app.hpp"

namespace drover::cli {

void addServeCommand(CLI::App& root, Context& ctx) {
  auto opts = std::make_shared<server::Options>();
  auto* cmd = root.add_subcommand(
      "serve", "Serve DHCP, TFTP, HTTP boot and the API from a cluster declaration");
  cmd->add_option("-c,--config", opts->config_path, "Cluster declaration (YAML)")->required();
  cmd->add_option("--state-dir", opts->state_dir,
                  "State directory (default: the directory of server.state.path)");
  cmd->add_flag("!--no-dhcp", opts->dhcp, "Do not run the DHCP server");
  cmd->add_flag("!--no-tftp", opts->tftp, "Do not run the TFTP server");
  cmd->add_option("--replica-id", opts->replica_id,
                  "With server.state.backend etcd: this replica's name (default: the host name)");
  cmd->add_option("--advertise", opts->advertise,
                  "The address handed to machines, instead of server.advertise (replicas share "
                  "one declaration)");
  cmd->add_option("--session-ttl", opts->session_ttl_s,
                  "Seconds a dashboard session lives after its last request")
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--threads", opts->threads,
                  "Threads for HTTP and the API, and as many for TFTP (DHCP runs on its own)")
      ->check(CLI::Range(1, 64));
  cmd->callback([opts, &ctx] {
    if (isPackagedStarter(opts->config_path)) {
      ctx.err << "drover serve: " << opts->config_path
              << " is the packaged starter declaration, which names no real network; write "
                 "this host's declaration over it with `drover init --interface IF` (or edit "
                 "it), then start again\n";
      ctx.exit_code = kStarterExitStatus;
      return;
    }
    auto app = server::App::create(*opts);
    if (!app) {
      ctx.err << app.error().message;
      if (!app.error().message.ends_with('\n')) ctx.err << '\n';
      ctx.exit_code = 1;
      return;
    }
    if (auto st = (*app)->start(); !st) {
      ctx.err << "drover serve: " << st.error().message << '\n';
      ctx.exit_code = 1;
      return;
    }
    (*app)->run();
    ctx.exit_code = 0;
  });
}

}  // namespace drover::cli
