// The raw disk image: one GPT partition with an ext4 filesystem built from the root by
// `mkfs.ext4 -d` (e2fsprogs), the table written by `sfdisk` (util-linux).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "images/oci/oci_import.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kPartitionStart = kMiB;  // sector 2048, aligned
constexpr std::uint64_t kGptTail = kMiB;         // room for the backup GPT

// Runs a tool (no shell), `input` on its stdin; its stderr is the error message.
Status runTool(const std::vector<std::string>& args, const std::string& input = "") {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return makeError("tool", "pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(err[1], 2);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(err[1]);
  if (!input.empty() && ::write(in[1], input.data(), input.size()) < 0) {
  }
  ::close(in[1]);
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = ::read(err[0], buf, sizeof buf)) > 0) message.append(buf, static_cast<std::size_t>(n));
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::success();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return makeError("tool", args[0] + " is not installed");
  return makeError("tool", fmt::format("{} failed: {}", args[0], message));
}

std::uint64_t treeBytes(const fs::path& root) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
    total += 4096;  // an inode and a block of metadata per entry, roughly
  }
  return total;
}

Status copyInto(const fs::path& from, const fs::path& to, std::uint64_t offset) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  const int out = ::open(to.c_str(), O_WRONLY | O_CLOEXEC);
  Status st;
  if (in < 0 || out < 0) st = makeError("eio", "cannot open the disk image files");
  std::vector<char> buf(1 << 20);
  off_t pos = static_cast<off_t>(offset);
  while (st) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) st = makeError("eio", from.string() + ": " + std::strerror(errno));
    if (n <= 0) break;
    if (::pwrite(out, buf.data(), static_cast<std::size_t>(n), pos) != n) st = makeError("eio", to.string() + ": short write");
    pos += n;
  }
  if (st && ::fsync(out) != 0) st = makeError("eio", to.string() + ": fsync failed");
  if (in >= 0) ::close(in);
  if (out >= 0) ::close(out);
  return st;
}

}  // namespace

Status writeRawDisk(const fs::path& root, const fs::path& out, const fs::path& work) {
  // The filesystem: the tree plus a third, at least 64 MiB, whole MiB.
  std::uint64_t fs_bytes = std::max<std::uint64_t>(64 * kMiB, treeBytes(root) * 4 / 3 + 16 * kMiB);
  fs_bytes = (fs_bytes + kMiB - 1) / kMiB * kMiB;
  const fs::path fs_image = work / "rootfs.ext4";
  std::error_code ec;
  fs::remove(fs_image, ec);
  {
    const int fd = ::open(fs_image.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(fs_bytes)) != 0) {
      if (fd >= 0) ::close(fd);
      return makeError("eio", fs_image.string() + ": cannot create");
    }
    ::close(fd);
  }
  if (auto st = runTool({"mkfs.ext4", "-q", "-F", "-L", "rootfs", "-d", root.string(), fs_image.string()}); !st)
    return st;
  // The disk: table, partition, backup table.
  const std::uint64_t disk_bytes = kPartitionStart + fs_bytes + kGptTail;
  {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(disk_bytes)) != 0) {
      if (fd >= 0) ::close(fd);
      return makeError("eio", out.string() + ": cannot create");
    }
    ::close(fd);
  }
  const std::string table = fmt::format(
      "label: gpt\nstart={}, size={}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs\n",
      kPartitionStart / 512, fs_bytes / 512);
  if (auto st = runTool({"sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", out.string()}, table); !st)
    return st;
  auto st = copyInto(fs_image, out, kPartitionStart);
  fs::remove(fs_image, ec);
  return st;
}

}  // namespace drover::images::oci
