// The raw disk image: one GPT partition with an ext4 filesystem built from the root by
// `mkfs.ext4 -d` (e2fsprogs), the table written by `sfdisk` (util-linux).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "images/oci/oci_import.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kPartitionStart = kMiB;  // sector 2048, aligned
constexpr std::uint64_t kGptTail = kMiB;         // room for the backup GPT

// Runs a tool (no shell), `input` on its stdin; its stderr is the error message.
Status runTool(const std::vector<std::string>& args, const std::string& input = "") {
  int in_fds[2], err_fds[2];
  if (::pipe2(in_fds, O_CLOEXEC) != 0) return makeError("tool", "pipe failed");
  UniqueFd in_read(in_fds[0]), in_write(in_fds[1]);
  if (::pipe2(err_fds, O_CLOEXEC) != 0) return makeError("tool", "pipe failed");
  UniqueFd err_read(err_fds[0]), err_write(err_fds[1]);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_read.get(), 0);
    ::dup2(err_write.get(), 2);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  in_read.close();
  err_write.close();
  if (!input.empty() && ::write(in_write.get(), input.data(), input.size()) < 0) {
  }
  in_write.close();
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = ::read(err_read.get(), buf, sizeof buf)) > 0)
    message.append(buf, static_cast<std::size_t>(n));
  err_read.close();
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
  const UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  const UniqueFd out(::open(to.c_str(), O_WRONLY | O_CLOEXEC));
  Status st;
  if (!in || !out) st = makeError("eio", "cannot open the disk image files");
  std::vector<char> buf(1 << 20);
  off_t pos = static_cast<off_t>(offset);
  while (st) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0) st = makeError("eio", from.string() + ": " + std::strerror(errno));
    if (n <= 0) break;
    if (::pwrite(out.get(), buf.data(), static_cast<std::size_t>(n), pos) != n)
      st = makeError("eio", to.string() + ": short write");
    pos += n;
  }
  if (st && ::fsync(out.get()) != 0) st = makeError("eio", to.string() + ": fsync failed");
  return st;
}

// Creates (or truncates) `path` as a sparse file of `bytes`.
bool createSized(const fs::path& path, std::uint64_t bytes) {
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  return fd && ::ftruncate(fd.get(), static_cast<off_t>(bytes)) == 0;
}

}  // namespace

Status writeRawDisk(const fs::path& root, const fs::path& out, const fs::path& work) {
  // The filesystem: the tree plus a third, at least 64 MiB, whole MiB.
  std::uint64_t fs_bytes = std::max<std::uint64_t>(64 * kMiB, treeBytes(root) * 4 / 3 + 16 * kMiB);
  fs_bytes = (fs_bytes + kMiB - 1) / kMiB * kMiB;
  const fs::path fs_image = work / "rootfs.ext4";
  std::error_code ec;
  fs::remove(fs_image, ec);
  if (!createSized(fs_image, fs_bytes))
    return makeError("eio", fs_image.string() + ": cannot create");
  if (auto st = runTool({"mkfs.ext4", "-q", "-F", "-L", "rootfs", "-d", root.string(), fs_image.string()}); !st)
    return st;
  // The disk: table, partition, backup table.
  const std::uint64_t disk_bytes = kPartitionStart + fs_bytes + kGptTail;
  if (!createSized(out, disk_bytes)) return makeError("eio", out.string() + ": cannot create");
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
