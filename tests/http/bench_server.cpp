// A small server for scripts/bench-http.sh: /boot.ipxe renders the install script per
// request (templates + router + Beast), /assets/ serves files with sendfile.
#include <csignal>
#include <iostream>
#include <thread>

#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "http/server.hpp"
#include "http/static_files.hpp"
#include "templates/ipxe.hpp"

int main(int argc, char** argv) {
  using namespace drover;
  CLI::App app{"http_bench_server: Drover's HTTP server for benchmarks (loopback)"};
  int port = 0;
  std::string root;
  int threads = 1;
  app.add_option("--port", port, "TCP port on 127.0.0.1")->required();
  app.add_option("--root", root, "directory served under /assets/")->required();
  app.add_option("--threads", threads, "io threads");
  CLI11_PARSE(app, argc, argv);

  templates::BootScriptParams params;
  params.base_url = "http://127.0.0.1:" + std::to_string(port);
  params.node = "worker-1";
  params.kernel_url = params.base_url + "/assets/boot-env/vmlinuz";
  params.initrd_url = params.base_url + "/assets/boot-env/initrd.img";
  params.api_url = "https://192.0.2.1:8443";
  params.ca_fingerprint = "sha256:" + std::string(64, 'a');
  params.token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

  http::Router router;
  router.add(http::Verb::get, "/boot.ipxe", [&params](const http::Request&) {
    auto script = templates::renderScript(templates::Script::kInstall, params);
    if (!script) return http::Response::error(http::Status::internal_server_error, "render", script.error().message);
    return http::Response::text(http::Status::ok, std::move(*script));
  });
  auto files = http::StaticRoot::open(root);
  if (!files) {
    std::cerr << files.error().message << "\n";
    return 1;
  }
  router.addPrefix(http::Verb::get, "/assets", files->handler());
  // Print the rendered size so the script can give nginx a file of the same size.
  if (auto s = templates::renderScript(templates::Script::kInstall, params)) std::cout << "script_bytes=" << s->size() << std::endl;

  boost::asio::io_context io;
  http::Server server(io, std::move(router));
  if (auto st = server.listen({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}); !st) {
    std::cerr << st.error().message << "\n";
    return 1;
  }
  server.start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { server.stop(std::chrono::seconds(2)); });
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}
