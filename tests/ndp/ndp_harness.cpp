// Runs the router-solicitation responder on the given interfaces until SIGTERM/SIGINT,
// then prints the drover_ndp_* counters (for the integration test).
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "common/metrics.hpp"
#include "ndp/server/responder.hpp"

int main(int argc, char** argv) {
  CLI::App app{"drover NDP responder harness"};
  drover::ndp::ResponderConfig config;
  app.add_option("--interface", config.interfaces, "interfaces (default: all)");
  CLI11_PARSE(app, argc, argv);

  boost::asio::io_context io;
  drover::ndp::Responder responder(io);
  if (auto s = responder.start(config); !s) {
    std::fprintf(stderr, "start: %s\n", s.error().message.c_str());
    return 1;
  }
  std::printf("READY");
  for (const auto& name : responder.interfaces()) std::printf(" %s", name.c_str());
  std::printf("\n");
  std::fflush(stdout);
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](auto, int) { responder.stop(); });
  io.run();
  std::fputs(drover::metrics::Registry::global().render().c_str(), stdout);
  return 0;
}
