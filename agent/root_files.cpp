#include "agent/root_files.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace drover::agent {
namespace fs = std::filesystem;

namespace {

Error rootError(const std::string& what, int err) {
  return makeError("root", what + ": " + std::strerror(err));
}

// A single directory entry name: not empty, no '/', not "." or "..".
bool plainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

int openInRoot(int root, const std::string& rel, int flags) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof(how)));
}

Status writeAll(int fd, const char* data, std::size_t size, const std::string& what) {
  std::size_t off = 0;
  while (off < size) {
    const ssize_t n = ::write(fd, data + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return rootError("write " + what, n < 0 ? errno : EIO);
    off += static_cast<std::size_t>(n);
  }
  return {};
}

// A fresh <dir>/<name>.tmp: whatever had that name is removed first, and O_EXCL|O_NOFOLLOW
// make sure the file is new (a symlink or device node planted there is never opened).
Result<UniqueFd> createTemp(int dir, const std::string& name, unsigned mode) {
  if (!plainName(name)) return makeError("root", "bad file name \"" + name + "\"");
  const std::string tmp = name + ".tmp";
  if (::unlinkat(dir, tmp.c_str(), 0) != 0 && errno != ENOENT)
    return rootError("remove " + tmp, errno);
  UniqueFd fd(
      ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return rootError("create " + tmp, errno);
  if (::fchmod(fd.get(), mode) != 0) return rootError("chmod " + tmp, errno);
  return fd;
}

Status commit(int dir, UniqueFd fd, const std::string& name) {
  const std::string tmp = name + ".tmp";
  if (::fsync(fd.get()) != 0) return rootError("fsync " + tmp, errno);
  if (fd.close() != 0) return rootError("close " + tmp, errno);
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0)
    return rootError("rename " + name, errno);
  if (::fsync(dir) != 0) return rootError("fsync directory of " + name, errno);
  return {};
}

}  // namespace

Result<RootDir> RootDir::open(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root, ec);  // the mountpoint or --installed-root: the agent's own
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return rootError("open installed root " + root.string(), errno);
  return RootDir(std::move(fd), root);
}

Result<UniqueFd> RootDir::makeDirs(const fs::path& rel) const {
  UniqueFd cur(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!cur) return rootError("dup", errno);
  std::string prefix;
  for (const auto& part : rel) {
    const std::string name = part.string();
    if (!plainName(name)) return makeError("root", "bad directory \"" + rel.string() + "\"");
    prefix += prefix.empty() ? name : "/" + name;
    // mkdirat does not follow a symlink in the last place; opening the path does, inside
    // the root.
    if (::mkdirat(cur.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
      return rootError("mkdir " + (path_ / prefix).string(), errno);
    }
    UniqueFd next(openInRoot(fd_.get(), prefix, O_RDONLY | O_DIRECTORY));
    if (!next)
      return rootError("open " + (path_ / prefix).string() + " in the installed root", errno);
    cur = std::move(next);
  }
  return cur;
}

Status RootDir::writeFile(int dir, const std::string& name, const std::string& content,
                          unsigned mode) {
  auto fd = createTemp(dir, name, mode);
  if (!fd) return fd.error();
  if (auto st = writeAll(fd->get(), content.data(), content.size(), name); !st) return st;
  return commit(dir, std::move(*fd), name);
}

Status RootDir::copyFile(const fs::path& from, int dir, const std::string& name, unsigned mode) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return rootError("open " + from.string(), errno);
  auto fd = createTemp(dir, name, mode);
  if (!fd) return fd.error();
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return rootError("read " + from.string(), errno);
    if (n == 0) break;
    if (auto st = writeAll(fd->get(), buf.data(), static_cast<std::size_t>(n), name); !st)
      return st;
  }
  return commit(dir, std::move(*fd), name);
}

Status RootDir::symlink(int dir, const std::string& name, const std::string& target) {
  if (!plainName(name)) return makeError("root", "bad link name \"" + name + "\"");
  if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT)
    return rootError("remove " + name, errno);
  if (::symlinkat(target.c_str(), dir, name.c_str()) != 0)
    return rootError("symlink " + name, errno);
  return {};
}

}  // namespace drover::agent
