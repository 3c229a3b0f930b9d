// A real etcd member for the tests: /usr/bin/etcd (Debian's etcd-server) on 127.0.0.1 with
// ports the kernel picked and a temporary data directory, stopped by pid (SIGTERM, or
// kill() for SIGKILL) when the object goes. Tests that need it call requireEtcd() first:
// without the binary they skip, or fail when CI is set.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "state/etcd/client.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::test {

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";

// A listening socket on 127.0.0.1, port chosen by the kernel; -1 on failure.
inline int listenLoopback(int* port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(s, 16) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return s;
}

// A port nothing listens on (bound, then closed).
inline int closedPort() {
  int port = 0;
  ::close(listenLoopback(&port));
  return port;
}

inline std::string loopbackUrl(int port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

// One etcd member.
struct EtcdServer {
  TempDir dir{"drover-etcd"};
  pid_t pid = -1;
  std::string endpoint;

  // Starts it and waits until it serves a read (it has a leader); false when it did not.
  // A port picked this way can be taken by another process before etcd binds it (tests run
  // side by side): when etcd exits at once, it is started again on two other ports.
  bool start() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (startOnce()) return true;
      if (pid > 0) return false;  // still running, yet never ready: no retry
    }
    return false;
  }

 private:
  bool startOnce() {
    const int client = closedPort(), peer = closedPort();
    endpoint = loopbackUrl(client);
    const std::string peer_url = loopbackUrl(peer), data = (dir / "data").string();
    const std::string log = (dir / "etcd.log").string();
    std::filesystem::remove_all(data);
    const std::string cluster = "drover-test=" + peer_url;
    pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(kEtcdBinary, kEtcdBinary, "--name", "drover-test", "--data-dir", data.c_str(),
              "--listen-client-urls", endpoint.c_str(), "--advertise-client-urls", endpoint.c_str(),
              "--listen-peer-urls", peer_url.c_str(), "--initial-advertise-peer-urls",
              peer_url.c_str(), "--initial-cluster", cluster.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid < 0) return false;
    etcd::Options opt;
    opt.connect_timeout_s = 1;
    opt.request_timeout_s = 2;
    auto c = etcd::Client::create({endpoint}, opt);
    // Its own log naming the port tells that this member, not another test's, answers there.
    const std::string serving =
        "serving insecure client requests on 127.0.0.1:" + std::to_string(client);
    for (int i = 0; i < 300 && c.ok(); ++i) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return false;
      }
      if (readFile(log).find(serving) != std::string::npos && c->get("ready").ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 public:
  std::string log() const { return readFile(dir / "etcd.log"); }

  void stop(int signal = SIGTERM) {
    if (pid <= 0) return;
    ::kill(pid, signal);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }

  ~EtcdServer() { stop(); }
};

// Whether the etcd binary is installed.
inline bool etcdAvailable() {
  return ::access(kEtcdBinary, X_OK) == 0;
}

}  // namespace drover::test

// In a test body or SetUp: skip without etcd, fail without it when CI is set.
#define DROVER_REQUIRE_ETCD()                                                                \
  do {                                                                                       \
    if (!::drover::test::etcdAvailable()) {                                                  \
      if (std::getenv("CI") != nullptr)                                                      \
        FAIL() << ::drover::test::kEtcdBinary << " missing (scripts/packages/test.txt)";     \
      GTEST_SKIP() << ::drover::test::kEtcdBinary << " missing (scripts/packages/test.txt)"; \
    }                                                                                        \
  } while (0)
