#include "common/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace drover {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  close();
}

int UniqueFd::close() {
  const int fd = release();
  return fd >= 0 ? ::close(fd) : 0;
}

Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return makeError("write_failed", tmp.string() + ": " + std::strerror(errno));
  const bool ok =
      ::write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
      ::fsync(fd.get()) == 0 && fd.close() == 0;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return makeError("write_failed", path.string() + ": write failed");
  return {};
}

}  // namespace drover
