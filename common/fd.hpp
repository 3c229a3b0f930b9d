// An owned file descriptor: closed when the owner goes away. Every fd Drover opens and
// keeps beyond one statement lives in one of these.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>
#include <utility>

#include "common/result.hpp"

namespace drover {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  // Closes now and reports close(2)'s result (0, or -1 with errno): for writers that must
  // know their data reached the file. A no-op returning 0 when nothing is owned.
  int close();

 private:
  int fd_ = -1;
};

// Writes `data` to `path` through a temporary file beside it (fsynced, then renamed), so a
// crash leaves the old file or the new one, never half of one. Error code write_failed.
Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode);

}  // namespace drover
