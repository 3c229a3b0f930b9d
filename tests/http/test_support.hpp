// Helpers for the HTTP integration tests: a server on loopback port 0 run by two threads,
// a raw-socket client (for exact bytes and hostile targets), curl, and temp directories.
#pragma once

#include "tests/support/temp_dir.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/metrics.hpp"
#include "http/server.hpp"

namespace drover::http::testing {

// Temp directories named drover-http-XXXXXX.
using ::drover::test::TempDir;
using ::drover::test::writeFile;

// Runs a Server on 127.0.0.1:0 with two io threads (one with ServerOptions::single_thread)
// until destroyed.
class TestServer {
 public:
  // with_bulk: file bodies go out on two more io_contexts with a thread each, as in
  // `drover serve` (ServerOptions::bulk).
  TestServer(Router router, ServerOptions options = {}, bool with_bulk = false)
      : io_threads_(options.single_thread ? 1 : 2),
        server_(std::make_unique<Server>(io_, std::move(router),
                                         withBulk(std::move(options), with_bulk), registry_)) {
    auto st = server_->listen({boost::asio::ip::make_address("127.0.0.1"), 0});
    EXPECT_TRUE(st.ok());
    server_->start();
    for (int i = 0; i < io_threads_; ++i) threads_.emplace_back([this] { io_.run(); });
    if (with_bulk)
      for (auto& b : bulk_) bulk_threads_.emplace_back([&b] { b.io.run(); });
  }
  ~TestServer() {
    server_->stop(std::chrono::milliseconds(0));
    joinWithSafetyTimeout();
    for (auto& b : bulk_) b.work.reset();
    for (auto& t : bulk_threads_) t.join();
  }

  // Waits for the io threads after a stop(); stops the io_context if they are still busy
  // after a generous safety margin (a hang, not a timing assertion).
  bool joinWithSafetyTimeout() {
    bool clean = true;
    for (int i = 0; i < 600 && !io_.stopped(); ++i) {
      bool idle = server_->connectionCount() == 0;
      if (idle) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (server_->connectionCount() != 0) clean = false;
    io_.stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
    return clean;
  }

  Server& server() { return *server_; }
  std::uint16_t port() const { return server_->localEndpoint().port(); }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }
  metrics::Registry& registry() { return registry_; }
  boost::asio::io_context& io() { return io_; }

 private:
  ServerOptions withBulk(ServerOptions o, bool with_bulk) {
    if (with_bulk)
      for (auto& b : bulk_) o.bulk.push_back(&b.io);
    return o;
  }
  struct Bulk {
    boost::asio::io_context io{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
  };

  metrics::Registry registry_;
  boost::asio::io_context io_;
  std::array<Bulk, 2> bulk_;
  std::vector<std::thread> bulk_threads_;
  int io_threads_;
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;
};

// A plain TCP connection with a safety receive timeout.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until the peer closes or `safety` passes without data. Returns what arrived.
  std::string readUntilClose(std::chrono::milliseconds safety = std::chrono::seconds(30)) {
    return readWhile([](const std::string&) { return true; }, safety);
  }
  // Reads until `marker` has been seen `count` times (or close / safety timeout).
  std::string readUntil(std::string_view marker, int count = 1,
                        std::chrono::milliseconds safety = std::chrono::seconds(30)) {
    return readWhile(
        [&](const std::string& out) {
          int seen = 0;
          for (auto pos = out.find(marker); pos != std::string::npos;
               pos = out.find(marker, pos + 1))
            ++seen;
          return seen < count;
        },
        safety);
  }
  bool closed() const { return closed_; }

 private:
  template <class More>
  std::string readWhile(More more, std::chrono::milliseconds safety) {
    std::string out;
    closed_ = false;
    std::array<char, 65536> buf{};
    while (more(out)) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(safety.count())) <= 0) break;
      ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return out;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

// Polls `pred` until it holds or a generous safety limit passes (a hang guard, not a bound).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds safety = std::chrono::seconds(30)) {
  for (auto waited = std::chrono::milliseconds(0); waited < safety;
       waited += std::chrono::milliseconds(10)) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

struct CommandResult {
  int status = -1;
  std::string out;
};

// Runs a shell command (fixed arguments built by the test) and captures stdout.
inline CommandResult run(const std::string& cmd) {
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 65536> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  r.status = ::pclose(p);
  return r;
}

// curl with safety limits (never a timing assertion: only to avoid hangs).
inline std::string curl() {
  return "curl -sS --max-time 120 --connect-timeout 10 ";
}

}  // namespace drover::http::testing
