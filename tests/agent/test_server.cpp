#include "tests/agent/test_server.hpp"

#include <fstream>
#include <sstream>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sys/wait.h>
#include <unistd.h>

namespace drover::agent::test {
namespace fs = std::filesystem;

fs::path sourceDir() {
  if (const char* s = std::getenv("DROVER_SOURCE_DIR")) return s;
  return fs::current_path();
}

TestServer::TestServer(const TlsFiles& tls) : https_(!tls.chain.empty()) {
  fs::create_directories(root());
  setRoutes(nlohmann::json::object());
  const std::string script = (sourceDir() / "tests/agent/fake_server.py").string();
  const std::string routes = (dir_.path() / "routes.json").string();
  const std::string logf = (dir_.path() / "requests.jsonl").string();
  const std::string rootd = root().string();
  int fds[2];
  if (::pipe(fds) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<std::string> args = {"/usr/bin/python3", script, "--root", rootd, "--routes",
                                     routes, "--log", logf};
    if (https_) {
      args.insert(args.end(), {"--cert", tls.chain, "--key", tls.key});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  FILE* f = ::fdopen(fds[0], "r");
  char line[64] = {};
  if (f && std::fgets(line, sizeof(line), f)) std::sscanf(line, "PORT %d", &port_);
  if (f) std::fclose(f);
}

TestServer::~TestServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

std::string TestServer::url(const std::string& path) const {
  return (https_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + path;
}

void TestServer::addFile(const std::string& name, const std::vector<std::uint8_t>& data) const {
  fs::create_directories((root() / name).parent_path());
  std::ofstream out(root() / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

void TestServer::setRoutes(const nlohmann::json& routes) const {
  const auto tmp = dir_.path() / "routes.json.tmp";
  std::ofstream(tmp) << routes.dump();
  fs::rename(tmp, dir_.path() / "routes.json");
}

std::vector<nlohmann::json> TestServer::requests() const {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir_.path() / "requests.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

TlsFiles makeTestPki(const fs::path& dir) {
  if (::access("/usr/bin/openssl", X_OK) != 0) return {};
  const std::string d = dir.string();
  const std::string script =
      "set -e; cd '" + d + "'; "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
      "-subj '/CN=Drover Test CA' -addext basicConstraints=critical,CA:TRUE "
      "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null; "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj '/CN=127.0.0.1' 2>/dev/null; "
      "printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf; "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 2 -extfile ext.cnf 2>/dev/null; "
      "cat server.pem ca.pem > chain.pem";
  std::ofstream(dir / "pki.sh") << script;
  if (std::system(("/bin/sh '" + d + "/pki.sh'").c_str()) != 0) return {};
  return {d + "/chain.pem", d + "/server.key", d + "/ca.pem"};
}

}  // namespace drover::agent::test
