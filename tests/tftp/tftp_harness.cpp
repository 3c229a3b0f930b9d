// Runs Drover's TFTP server alone, for integration tests and scripts/bench-tftp.sh:
//   tftp_harness --root DIR [--listen 127.0.0.1] [--port 0] [--search /usr/lib/ipxe]
//                [--stats-file F] [--virtual name=content] ...
// Prints "LISTENING port=N" once bound. With --stats-file, writes
// "active=N ok=N ... bytes=N" there every 100 ms and at exit. SIGTERM/SIGINT stop it.
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "tftp/server/server.hpp"

namespace {

using namespace drover;

class MapFiles : public tftp::VirtualFiles {
 public:
  explicit MapFiles(std::map<std::string, std::string> files) : files_(std::move(files)) {}
  std::optional<std::string> lookup(std::string_view path, const tftp::Endpoint&) override {
    auto it = files_.find(std::string(path));
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> files_;
};

void writeStats(const std::string& path, const tftp::Server& server) {
  if (path.empty()) return;
  auto& reg = metrics::Registry::global();
  std::string line = "active=" + std::to_string(server.activeTransfers());
  for (const char* r : {"ok", "client_abort", "timeout", "deadline", "not_found", "access_denied", "refused", "error"})
    line += std::string(" ") + r + "=" + std::to_string(reg.valueForTest("tftp_transfers_total", std::string("result=\"") + r + "\""));
  line += " bytes=" + std::to_string(reg.valueForTest("tftp_bytes_total"));
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << line << "\n";
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Drover TFTP server harness"};
  tftp::Config cfg;
  std::string listen = "127.0.0.1";
  unsigned port = 0;
  std::string stats_file;
  std::string log_level = "info";
  std::vector<std::string> virtuals;
  int threads = 1;
  unsigned timeout_ms = 1000, max_timeout_ms = 8000, deadline_ms = 600000;
  std::size_t mtu = 0;
  app.add_option("--root", cfg.root, "served directory")->required();
  app.add_option("--listen", listen, "listen address");
  app.add_option("--port", port, "listen port (0: any)");
  app.add_option("--search", cfg.search_path, "search directories after the root");
  app.add_option("--max-blksize", cfg.max_blksize, "largest blksize granted");
  app.add_option("--mtu", mtu, "derive --max-blksize from this MTU");
  app.add_option("--max-windowsize", cfg.max_windowsize, "largest windowsize granted");
  app.add_option("--timeout-ms", timeout_ms, "retransmit timeout");
  app.add_option("--max-timeout-ms", max_timeout_ms, "retransmit timeout cap (backoff)");
  app.add_option("--retries", cfg.max_retries, "consecutive timeouts before giving up");
  app.add_option("--deadline-ms", deadline_ms, "whole-transfer deadline");
  app.add_option("--max-transfers", cfg.max_transfers, "concurrent transfers");
  app.add_option("--threads", threads, "io threads");
  app.add_option("--stats-file", stats_file, "status line file");
  app.add_option("--virtual", virtuals, "name=content virtual file");
  app.add_option("--log-level", log_level, "trace..off");
  CLI11_PARSE(app, argc, argv);

  log::setup(log_level);
  boost::system::error_code ec;
  cfg.listen = tftp::Endpoint(boost::asio::ip::make_address(listen, ec), static_cast<unsigned short>(port));
  if (ec) {
    std::fprintf(stderr, "bad --listen address: %s\n", listen.c_str());
    return 2;
  }
  if (mtu != 0) cfg.max_blksize = mtu > 40 ? mtu - 32 : 8;
  cfg.retransmit_timeout = std::chrono::milliseconds(timeout_ms);
  cfg.max_retransmit_timeout = std::chrono::milliseconds(max_timeout_ms);
  cfg.transfer_deadline = std::chrono::milliseconds(deadline_ms);

  std::map<std::string, std::string> files;
  for (const auto& v : virtuals) {
    auto eq = v.find('=');
    if (eq != std::string::npos) files[v.substr(0, eq)] = v.substr(eq + 1);
  }
  MapFiles vfs(std::move(files));

  boost::asio::io_context io;
  tftp::Server server(io, cfg, &vfs);
  if (auto st = server.start(); !st) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 1;
  }
  std::printf("LISTENING port=%u\n", server.localEndpoint().port());
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  boost::asio::steady_timer stats_timer(io);
  bool stopping = false;
  std::function<void()> tick = [&] {
    writeStats(stats_file, server);
    if (stopping) return;
    stats_timer.expires_after(std::chrono::milliseconds(100));
    stats_timer.async_wait([&](const boost::system::error_code& e) {
      if (!e) tick();
    });
  };
  if (!stats_file.empty()) tick();
  signals.async_wait([&](const boost::system::error_code&, int) {
    stopping = true;
    stats_timer.cancel();
    server.stop();
  });

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  writeStats(stats_file, server);
  return 0;
}
