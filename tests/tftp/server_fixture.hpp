// Runs a TFTP server in-process on 127.0.0.1 (ephemeral port) on its own io thread, with
// its own metrics registry, for tests that drive it with real clients.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/hex.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"
#include "tftp/server/server.hpp"

namespace drover::tftp::testing {

using ::drover::test::readFile;
using ::drover::test::TempDir;

class MapFiles : public VirtualFiles {
 public:
  std::optional<std::string> lookup(std::string_view path, const Endpoint&) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(std::string(path));
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }
  void set(const std::string& name, std::string content) {
    std::lock_guard lock(mu_);
    files_[name] = std::move(content);
  }
  std::optional<std::filesystem::path> file(std::string_view path, const Endpoint&) override {
    std::lock_guard lock(mu_);
    auto it = aliases_.find(std::string(path));
    if (it == aliases_.end()) return std::nullopt;
    return it->second;
  }
  // `name` is served from `real`, a file anywhere on disk.
  void alias(const std::string& name, std::filesystem::path real) {
    std::lock_guard lock(mu_);
    aliases_[name] = std::move(real);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> files_;
  std::map<std::string, std::filesystem::path> aliases_;
};

class RecordingObserver : public TransferObserver {
 public:
  void onTransferDone(const TransferRecord& r) override {
    std::lock_guard lock(mu_);
    records_.push_back(r);
  }
  std::vector<TransferRecord> records() {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  std::mutex mu_;
  std::vector<TransferRecord> records_;
};

// Runs a shell command with a generous safety timeout; returns its exit status.
inline int run(const std::string& cmd) {
  const int st = std::system(("timeout 300 " + cmd).c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

inline std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return toHex({md, len});
}

inline std::string sha256File(const std::filesystem::path& p) { return sha256(readFile(p)); }

// Deterministic pseudo-random bytes.
inline std::string randomBytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    auto v = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

class ServerFixture : public ::testing::Test {
 protected:
  // Call from the test (or SetUp) after adjusting config_; `threads` run the io_context.
  void startServer(int threads = 1) {
    config_.listen = Endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    config_.root = root().string();
    server_ = std::make_unique<Server>(io_, config_, &vfs_, &observer_, registry_);
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().message;
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    server_.reset();
  }

  std::filesystem::path root() const { return dir_ / "root"; }
  std::filesystem::path out(const std::string& name) const { return dir_ / "out" / name; }
  std::uint16_t port() const { return server_->localEndpoint().port(); }
  std::string url(const std::string& file) const {
    return "tftp://127.0.0.1:" + std::to_string(port()) + "/" + file;
  }

  std::int64_t metric(const std::string& name, const std::string& labels = "") const {
    return registry_.valueForTest(name, labels);
  }
  std::int64_t transfers(const std::string& result) const {
    return metric("tftp_transfers_total", "result=\"" + result + "\"");
  }
  std::int64_t drops(const std::string& reason) const {
    return metric("tftp_drops_total", "reason=\"" + reason + "\"");
  }

  // Waits (safety bound only) until no transfer is active; returns the gauge.
  std::int64_t waitIdle() const {
    for (int i = 0; i < 2400 && metric("tftp_active_transfers") != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return metric("tftp_active_transfers");
  }

  std::string addFile(const std::string& rel, const std::string& content) {
    dir_.write("root/" + rel, content);
    return sha256(content);
  }

  TempDir dir_;
  Config config_;
  metrics::Registry registry_;
  MapFiles vfs_;
  RecordingObserver observer_;
  boost::asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;

 public:
  ServerFixture() { std::filesystem::create_directories(dir_ / "out"); std::filesystem::create_directories(dir_ / "root"); }
};

}  // namespace drover::tftp::testing
