// The catalog tests' upstream: tests/images/image_server.py on 127.0.0.1, an ephemeral
// port, serving the files of a directory. Stopped (by pid) when the object goes away.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "images/fetch/fetcher.hpp"

namespace drover::test {

class ImageServer {
 public:
  explicit ImageServer(const std::filesystem::path& dir) {
    const char* src = std::getenv("DROVER_SOURCE_DIR");
    const std::string script = std::string(src ? src : ".") + "/tests/images/image_server.py";
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      ::execlp("python3", "python3", script.c_str(), dir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    char buf[32] = {0};
    std::size_t got = 0;
    while (got < sizeof(buf) - 1) {
      const ssize_t n = ::read(out[0], buf + got, 1);
      if (n <= 0 || buf[got] == '\n') break;
      ++got;
    }
    ::close(out[0]);
    port_ = std::atoi(buf);
    if (port_ <= 0) throw std::runtime_error("image_server.py did not start");
  }
  ~ImageServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ImageServer(const ImageServer&) = delete;
  ImageServer& operator=(const ImageServer&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + path; }

  nlohmann::json stats() const {
    auto body = images::fetch::fetchSmall(url("stats"), "");
    return body ? nlohmann::json::parse(*body) : nlohmann::json::object();
  }
  int gets(const std::string& path) const { return stats()["gets"].value("/" + path, 0); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace drover::test
