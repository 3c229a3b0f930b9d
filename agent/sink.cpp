#include "agent/sink.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace drover::agent {
namespace {

Error sysError(const std::string& code, const std::string& what, int err) {
  return makeError(code, what + ": " + std::strerror(err));
}

Status checkLimit(std::optional<std::uint64_t> limit, std::uint64_t written, std::size_t n) {
  if (limit && written + n > *limit) {
    return makeError("image_too_large",
                     "image is larger than the target (" + std::to_string(*limit) + " bytes)");
  }
  return {};
}

}  // namespace

Status NullSink::write(std::span<const std::uint8_t> data) {
  if (auto st = checkLimit(limit_, written_, data.size()); !st) return st;
  written_ += data.size();
  return {};
}

Result<std::uint64_t> deviceSize(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return sysError("stat", path.string(), errno);
  if (S_ISREG(st.st_mode)) return static_cast<std::uint64_t>(st.st_size);
  if (!S_ISBLK(st.st_mode))
    return makeError("not_block_device", path.string() + " is not a block device");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sysError("open", path.string(), errno);
  std::uint64_t size = 0;
  if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0)
    return sysError("ioctl", "BLKGETSIZE64 " + path.string(), errno);
  return size;
}

Result<std::unique_ptr<FileSink>> FileSink::open(const std::filesystem::path& path,
                                                 const FileSinkOptions& opt) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  const bool block = exists && S_ISBLK(st.st_mode);
  if (opt.require_block_device && !block) {
    return makeError("not_block_device", path.string() + " is not a block device");
  }
  if (exists && !block && !S_ISREG(st.st_mode)) {
    return makeError("bad_target", path.string() + " is neither a block device nor a file");
  }
  // O_EXCL on a block device: the kernel refuses (EBUSY) while it is mounted or held.
  const int flags =
      block ? (O_WRONLY | O_EXCL | O_CLOEXEC) : (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
  UniqueFd fd(::open(path.c_str(), flags, 0644));
  if (!fd) return sysError("open", "open " + path.string(), errno);
  auto limit = opt.limit;
  if (block && !limit) {
    std::uint64_t size = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &size) == 0) limit = size;
  }
  return std::unique_ptr<FileSink>(
      new FileSink(std::move(fd), block, limit, opt.buffer_bytes, path.string()));
}

FileSink::FileSink(UniqueFd fd, bool block, std::optional<std::uint64_t> limit,
                   std::size_t buffer_bytes, std::string path)
    : fd_(std::move(fd)),
      block_(block),
      limit_(limit),
      path_(std::move(path)),
      buf_(buffer_bytes == 0 ? 1 : buffer_bytes) {}

Status FileSink::flushBuffer() {
  std::size_t off = 0;
  while (off < buf_used_) {
    const ssize_t n =
        ::pwrite(fd_.get(), buf_.data() + off, buf_used_ - off, static_cast<off_t>(flushed_ + off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError(errno == ENOSPC ? "image_too_large" : "write", "write " + path_, errno);
    }
    if (n == 0) return makeError("image_too_large", "write " + path_ + ": no space left");
    off += static_cast<std::size_t>(n);
  }
  flushed_ += buf_used_;
  buf_used_ = 0;
  return {};
}

Status FileSink::write(std::span<const std::uint8_t> data) {
  if (!fd_) return makeError("write", "sink already finished");
  if (auto st = checkLimit(limit_, written_, data.size()); !st) return st;
  written_ += data.size();
  while (!data.empty()) {
    const std::size_t take = std::min(data.size(), buf_.size() - buf_used_);
    std::memcpy(buf_.data() + buf_used_, data.data(), take);
    buf_used_ += take;
    data = data.subspan(take);
    if (buf_used_ == buf_.size()) {
      if (auto st = flushBuffer(); !st) return st;
    }
  }
  return {};
}

Status FileSink::finish() {
  if (!fd_) return makeError("write", "sink already finished");
  if (auto st = flushBuffer(); !st) return st;
  if (::fdatasync(fd_.get()) != 0) return sysError("flush", "fdatasync " + path_, errno);
  if (block_ && ::ioctl(fd_.get(), BLKFLSBUF, 0) != 0) {
    return sysError("flush", "BLKFLSBUF " + path_, errno);
  }
  if (fd_.close() != 0) return sysError("flush", "close " + path_, errno);
  return {};
}

Result<std::uint64_t> FileSink::discard() {
  buf_used_ = 0;
  written_ = flushed_;
  if (!fd_ || flushed_ == 0) return std::uint64_t{0};
  const std::vector<std::uint8_t> zeros(
      static_cast<std::size_t>(std::min(flushed_, kDiscardBytes)));
  // The head, then the tail (a GPT keeps its backup header at the end).
  const std::uint64_t tail = flushed_ > kDiscardBytes ? flushed_ - kDiscardBytes : 0;
  std::uint64_t zeroed = 0;
  for (const std::uint64_t at : {std::uint64_t{0}, tail}) {
    if (at == 0 && zeroed > 0) continue;
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), flushed_ - at));
    std::size_t off = 0;
    while (off < n) {
      const ssize_t w =
          ::pwrite(fd_.get(), zeros.data() + off, n - off, static_cast<off_t>(at + off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return sysError("write", "zero " + path_, errno);
      off += static_cast<std::size_t>(w);
    }
    zeroed += n;
  }
  if (::fdatasync(fd_.get()) != 0) return sysError("flush", "fdatasync " + path_, errno);
  return zeroed;
}

}  // namespace drover::agent
