// Finds requested files in the root and then the search path, and shares open files
// between transfers: one descriptor per file however many clients read it, closed when the
// last transfer using it ends. Data is read with pread, so readers never share an offset.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "tftp/server/path.hpp"

namespace drover::tftp {

// A regular file opened read-only. Thread-safe: only positional reads.
class SharedFile {
 public:
  SharedFile(UniqueFd fd, std::uint64_t size, std::string origin)
      : fd_(std::move(fd)), size_(size), origin_(std::move(origin)) {}

  // Reads up to out.size() bytes at `offset`; fewer only at end of file.
  Result<std::size_t> readAt(std::uint64_t offset, std::span<std::byte> out) const;
  std::uint64_t size() const { return size_; }
  const std::string& origin() const { return origin_; }  // directory it was found in

 private:
  UniqueFd fd_;
  std::uint64_t size_;
  std::string origin_;
};

class FileCache {
 public:
  // `dirs`: the root first, then the search path, in order.
  explicit FileCache(std::vector<RootedDir> dirs) : dirs_(std::move(dirs)) {}

  // `path` from normalizePath(). The first directory holding the name wins; a name that
  // is refused in one directory (escape, symlink, not a regular file) is not looked up in
  // the next. Error codes as RootedDir::openFile.
  Result<std::shared_ptr<const SharedFile>> open(const std::string& path);

  std::size_t openCountForTest();

 private:
  std::vector<RootedDir> dirs_;
  std::mutex mu_;
  std::map<std::pair<std::size_t, std::string>, std::weak_ptr<const SharedFile>> open_;
};

}  // namespace drover::tftp
