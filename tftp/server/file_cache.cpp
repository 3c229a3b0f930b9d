#include "tftp/server/file_cache.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace drover::tftp {

Result<std::size_t> SharedFile::readAt(std::uint64_t offset, std::span<std::byte> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return makeError("io_error", std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Result<std::shared_ptr<const SharedFile>> FileCache::open(const std::string& path) {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < dirs_.size(); ++i) {
    const auto key = std::make_pair(i, path);
    if (auto it = open_.find(key); it != open_.end()) {
      if (auto live = it->second.lock()) return live;
      open_.erase(it);
    }
    auto opened = dirs_[i].openFile(path);
    if (!opened) {
      if (opened.error().code == "not_found") continue;
      return opened.error();
    }
    auto file = std::make_shared<const SharedFile>(std::move(opened->fd), opened->size, dirs_[i].path());
    // Forget files nobody reads any more, so the map stays as small as the working set.
    std::erase_if(open_, [](const auto& kv) { return kv.second.expired(); });
    open_[key] = file;
    return file;
  }
  return makeError("not_found", "no such file in the root or the search path");
}

std::size_t FileCache::openCountForTest() {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [k, v] : open_) n += v.expired() ? 0 : 1;
  return n;
}

}  // namespace drover::tftp
