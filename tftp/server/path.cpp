#include "tftp/server/path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace drover::tftp {
namespace {

constexpr int kFileFlags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;

Error errnoError(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      return makeError("not_found", std::strerror(err));
    case EXDEV:   // RESOLVE_BENEATH: the path would leave the directory
    case ELOOP:   // O_NOFOLLOW hit a symlink, or a symlink loop
    case EACCES:
    case EPERM:
      return makeError("access_denied", std::strerror(err));
    default:
      return makeError("io_error", std::strerror(err));
  }
}

}  // namespace

Result<std::string> normalizePath(std::string_view raw) {
  if (raw.size() > kMaxPathLength) return makeError("too_long", "name longer than 255 bytes");
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  std::string buf(raw);
  for (char& c : buf) {
    auto u = static_cast<unsigned char>(c);
    if (u == 0) return makeError("nul_byte", "NUL in name");
    if (u < 0x20 || u == 0x7f) return makeError("bad_char", "control character in name");
    if (c == '\\') c = '/';
  }
  const std::string_view s(buf);
  while (start <= s.size()) {
    auto end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    auto part = s.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return makeError("escapes_root", "name climbs above the root");
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  if (parts.empty()) return makeError("empty", "name has no file component");
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

Result<RootedDir> RootedDir::open(const std::string& dir, bool trusted) {
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return makeError(err == ENOENT ? "enoent" : "bad_dir", dir + ": " + std::strerror(err));
  }
  return RootedDir(UniqueFd(fd), dir, trusted);
}

Result<UniqueFd> RootedDir::openBeneath(const std::string& path) const {
  open_how how{};
  how.flags = kFileFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, fd_.get(), path.c_str(), &how, sizeof how);
  if (fd < 0) {
    // ENOSYS: kernel before 5.6; EPERM can come from a seccomp filter that does not know it.
    if (errno == ENOSYS) return makeError("enosys", "openat2 unavailable");
    return errnoError(errno);
  }
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> RootedDir::openByWalk(const std::string& path) const {
  UniqueFd cur;
  int dir = fd_.get();
  std::size_t start = 0;
  for (;;) {
    auto slash = path.find('/', start);
    const std::string comp = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (slash == std::string::npos) {
      int fd = ::openat(dir, comp.c_str(), kFileFlags | O_NOFOLLOW);
      if (fd < 0) return errnoError(errno);
      return UniqueFd(fd);
    }
    int next = ::openat(dir, comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return errnoError(errno);
    cur = UniqueFd(next);
    dir = cur.get();
    start = slash + 1;
  }
}

Result<OpenedFile> RootedDir::openFile(const std::string& path) const {
  // A normalised path never has these; refuse rather than trust the caller.
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string::npos)
    return makeError("access_denied", "path is not normalised");
  Result<UniqueFd> fd = makeError("not_found", "not opened");
  if (trusted_) {
    int raw = ::openat(fd_.get(), path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    fd = raw >= 0 ? Result<UniqueFd>(UniqueFd(raw)) : Result<UniqueFd>(errnoError(errno));
  } else {
    fd = force_walk_ ? openByWalk(path) : openBeneath(path);
    if (!fd && fd.error().code == "enosys") fd = openByWalk(path);
  }
  if (!fd) return fd.error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return errnoError(errno);
  if (!S_ISREG(st.st_mode)) return makeError("not_regular", "not a regular file");
  return OpenedFile{std::move(*fd), static_cast<std::uint64_t>(st.st_size)};
}

}  // namespace drover::tftp
