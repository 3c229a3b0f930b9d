#include "common/fd.hpp"

#include <unistd.h>

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

}  // namespace drover
