#include "common/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/fd.hpp"

namespace drover {

Status notifyService(std::string_view message) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || env[0] == '\0') return {};
  const std::string_view path(env);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof(addr.sun_path))
    return makeError("notify_socket", fmt::format("NOTIFY_SOCKET={} is not a socket path", path));
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                          (path[0] == '@' ? 0 : 1));
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return makeError("notify_socket", fmt::format("socket: {}", std::strerror(errno)));
  const auto sent = ::sendto(fd.get(), message.data(), message.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&addr), len);
  if (sent < 0 || static_cast<std::size_t>(sent) != message.size())
    return makeError("notify_socket", fmt::format("{}: {}", path, std::strerror(errno)));
  return {};
}

std::string reloadingMessage() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  return fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec);
}

}  // namespace drover
