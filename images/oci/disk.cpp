// Raw disk images: ext4 filesystems built from a tree by `mkfs.ext4 -d` (e2fsprogs), GPT
// tables written by `sfdisk` (util-linux), partition contents copied in at their offsets.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "images/oci/disk_parts.hpp"
#include "images/oci/oci_import.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kPartitionStart = kMiB;  // sector 2048, aligned
constexpr std::uint64_t kGptTail = kMiB;         // room for the backup GPT
constexpr std::string_view kLinuxData = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

Status copyInto(const fs::path& from, const fs::path& to, std::uint64_t offset,
                std::uint64_t max_bytes) {
  const UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  const UniqueFd out(::open(to.c_str(), O_WRONLY | O_CLOEXEC));
  Status st;
  if (!in || !out) st = makeError("eio", "cannot open the disk image files");
  std::vector<char> buf(1 << 20);
  off_t pos = static_cast<off_t>(offset);
  std::uint64_t left = max_bytes;
  while (st && left > 0) {
    const ssize_t n = ::read(in.get(), buf.data(), std::min<std::uint64_t>(buf.size(), left));
    if (n < 0) st = makeError("eio", from.string() + ": " + std::strerror(errno));
    if (n <= 0) break;
    if (::pwrite(out.get(), buf.data(), static_cast<std::size_t>(n), pos) != n)
      st = makeError("eio", to.string() + ": short write");
    pos += n;
    left -= static_cast<std::uint64_t>(n);
  }
  if (st && ::fsync(out.get()) != 0) st = makeError("eio", to.string() + ": fsync failed");
  return st;
}

}  // namespace

Status runTool(const std::vector<std::string>& args, const std::string& input) {
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
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return makeError("tool", args[0] + " is not installed");
  return makeError("tool", fmt::format("{} failed: {}", args[0], message));
}

std::uint64_t treeBytes(const fs::path& root) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
    total += 4096;  // an inode and a block of metadata per entry, roughly
  }
  return total;
}

std::uint64_t ext4Bytes(const fs::path& root, std::uint64_t free_bytes) {
  const std::uint64_t tree = treeBytes(root);
  return roundMiB(
      tree + (free_bytes ? free_bytes : std::max<std::uint64_t>(64 * kMiB, tree / 3 + 16 * kMiB)));
}

bool createSized(const fs::path& path, std::uint64_t bytes) {
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  return fd && ::ftruncate(fd.get(), static_cast<off_t>(bytes)) == 0;
}

Status makeExt4(const fs::path& root, const fs::path& image, std::uint64_t bytes,
                const std::string& label, const std::string& uuid) {
  std::error_code ec;
  fs::remove(image, ec);
  if (!createSized(image, bytes)) return makeError("eio", image.string() + ": cannot create");
  std::vector<std::string> args{"mkfs.ext4", "-q", "-F", "-L", label};
  if (!uuid.empty()) args.insert(args.end(), {"-U", uuid});
  args.insert(args.end(), {"-d", root.string(), image.string()});
  return runTool(args);
}

Status assembleGptDisk(const fs::path& out, const std::vector<PartitionImage>& parts,
                       const fs::path& mbr_code) {
  std::string table = "label: gpt\n";
  std::uint64_t at = kPartitionStart;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> placed;  // offset, bytes
  for (const auto& p : parts) {
    std::error_code ec;
    const auto bytes = roundMiB(fs::file_size(p.image, ec));
    if (ec || bytes == 0) return makeError("eio", p.image.string() + ": cannot read its size");
    table += fmt::format("start={}, size={}, type={}, name=\"{}\"", at / 512, bytes / 512, p.type,
                         p.name);
    if (!p.attrs.empty()) table += fmt::format(", attrs=\"{}\"", p.attrs);
    table += '\n';
    placed.emplace_back(at, bytes);
    at += bytes;
  }
  if (!createSized(out, at + kGptTail)) return makeError("eio", out.string() + ": cannot create");
  if (auto st =
          runTool({"sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", out.string()}, table);
      !st)
    return st;
  if (!mbr_code.empty()) {
    if (auto st = copyInto(mbr_code, out, 0, 440); !st) return st;
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto st = copyInto(parts[i].image, out, placed[i].first, placed[i].second);
    std::error_code ec;
    fs::remove(parts[i].image, ec);
    if (!st) return st;
  }
  return Status::success();
}

Status writeRawDisk(const fs::path& root, const fs::path& out, const fs::path& work) {
  const fs::path fs_image = work / "rootfs.ext4";
  if (auto st = makeExt4(root, fs_image, ext4Bytes(root), "rootfs"); !st) return st;
  return assembleGptDisk(out, {{fs_image, std::string(kLinuxData), "rootfs", ""}});
}

}  // namespace drover::images::oci
