// Starts tests/agent/fake_server.py on 127.0.0.1 (port chosen by the kernel) and stops it
// by pid. Routes and served files live in a private temporary directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.hpp"

namespace drover::agent::test {

using ::drover::test::TempDir;

struct TlsFiles {
  std::string chain;  // leaf + CA, PEM
  std::string key;
  std::string ca;     // CA certificate, PEM
};

class TestServer {
 public:
  // tls: serve https with this chain; empty: plain http.
  explicit TestServer(const TlsFiles& tls = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  bool ok() const { return port_ != 0; }
  std::string url(const std::string& path) const;
  std::filesystem::path root() const { return dir_.path() / "files"; }
  void addFile(const std::string& name, const std::vector<std::uint8_t>& data) const;
  void setRoutes(const nlohmann::json& routes) const;
  std::vector<nlohmann::json> requests() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool https_ = false;
};

// Makes a CA and a server certificate for 127.0.0.1 with the openssl CLI into `dir`.
// Returns empty paths when openssl is missing.
TlsFiles makeTestPki(const std::filesystem::path& dir);

std::filesystem::path sourceDir();

}  // namespace drover::agent::test
