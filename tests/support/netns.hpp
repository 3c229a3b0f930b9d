// Network namespaces and child processes for the DHCP integration tests. Everything is
// named after the test and the pid, so tests can run beside others on the same machine;
// every namespace and process is removed / killed by pid in destructors, even on failure.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace drover::dhcp::test {

inline int sh(const std::string& cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline bool haveTool(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string sourceDir() {
  const char* s = std::getenv("DROVER_SOURCE_DIR");
  return s ? s : ".";
}
inline std::string binaryDir() {
  const char* s = std::getenv("DROVER_BINARY_DIR");
  return s ? s : "build";
}

// A part of namespace and interface names that no other test process holds at the same
// time: the whole pid, then `n` (the caller's counter) after an "x", so that pid 1234 with
// 56 and pid 12345 with 6 differ. At most 10 characters (pids up to 4194304, n < 100).
inline std::string uniqueTag(int n) {
  return std::to_string(::getpid()) + "x" + std::to_string(n);
}

// Polls `done` every 50 ms; the bound is a safety net against hangs, not an assertion.
inline bool waitFor(const std::function<bool()>& done,
                    std::chrono::seconds safety = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + safety;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

class Netns {
 public:
  explicit Netns(std::string name) : name_(std::move(name)) {
    sh("ip netns del " + name_);
    ok_ = sh("ip netns add " + name_) == 0 && sh("ip -n " + name_ + " link set lo up") == 0;
  }
  ~Netns() { sh("ip netns del " + name_); }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  bool ok() const { return ok_; }
  int run(const std::string& cmd) const { return sh("ip netns exec " + name_ + " " + cmd); }
  std::vector<std::string> exec(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
    return argv;
  }

 private:
  std::string name_;
  bool ok_ = false;
};

// A veth pair between two namespaces.
inline bool link(const Netns& a, const std::string& a_if, const Netns& b, const std::string& b_if) {
  return sh("ip link add " + a_if + " type veth peer name " + b_if) == 0 &&
         sh("ip link set " + a_if + " netns " + a.name()) == 0 &&
         sh("ip link set " + b_if + " netns " + b.name()) == 0 &&
         sh("ip -n " + a.name() + " link set " + a_if + " up") == 0 &&
         sh("ip -n " + b.name() + " link set " + b_if + " up") == 0;
}

class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& output) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Process() {
    if (running()) {
      signal(SIGKILL);
      wait();
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (pid_ > 0 && !exited_) ::kill(pid_, sig);
  }
  bool running() {
    if (pid_ <= 0 || exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
    }
    return !exited_;
  }
  // Waits for exit (safety bound, then SIGKILL); returns the exit code, or -1.
  int wait(std::chrono::seconds safety = std::chrono::seconds(30)) {
    if (!waitFor([&] { return !running(); }, safety)) {
      signal(SIGKILL);
      waitFor([&] { return !running(); }, std::chrono::seconds(5));
    }
    return exited_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace drover::dhcp::test
