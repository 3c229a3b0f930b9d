#include "agent/disk.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <sys/stat.h>

#include "agent/sink.hpp"

namespace drover::agent {
namespace fs = std::filesystem;

namespace {

// The disk itself and the names of its partitions (sys/block/<name>/<name>N, nvme0n1p1).
std::set<std::string> diskAndPartitions(const std::string& name, const fs::path& root) {
  std::set<std::string> names{name};
  std::error_code ec;
  for (fs::directory_iterator it(root / "sys/block" / name, ec), end; !ec && it != end;
       it.increment(ec)) {
    auto n = it->path().filename().string();
    if (n.size() > name.size() && n.rfind(name, 0) == 0) names.insert(n);
  }
  return names;
}

// Kernel name of a /dev path: symlinks (/dev/disk/by-id/...) resolved on the real root.
std::string devName(const std::string& dev, const fs::path& root) {
  if (dev.rfind("/dev/", 0) != 0) return {};
  fs::path p = dev;
  if (root == "/") {
    std::error_code ec;
    auto real = fs::canonical(p, ec);
    if (!ec) p = real;
  }
  return p.filename().string();
}

std::vector<std::string> firstColumn(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string first;
    if (ss >> first) out.push_back(first);
  }
  return out;
}

}  // namespace

Status checkNotInUse(const std::string& name, const fs::path& root) {
  const auto names = diskAndPartitions(name, root);
  {
    std::ifstream in(root / "proc/self/mounts");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string src, dir;
      ss >> src >> dir;
      if (names.count(devName(src, root))) {
        return makeError("disk_in_use", "/dev/" + name + " is in use: " + src + " is mounted on " + dir);
      }
    }
  }
  for (const auto& dev : firstColumn(root / "proc/swaps")) {
    if (names.count(devName(dev, root))) {
      return makeError("disk_in_use", "/dev/" + name + " is in use: " + dev + " is active swap");
    }
  }
  for (const auto& n : names) {
    const fs::path holders = n == name ? root / "sys/block" / name / "holders"
                                       : root / "sys/block" / name / n / "holders";
    std::error_code ec;
    for (fs::directory_iterator it(holders, ec), end; !ec && it != end; it.increment(ec)) {
      return makeError("disk_in_use", "/dev/" + name + " is in use: " + n + " is held by " +
                                          it->path().filename().string());
    }
  }
  return {};
}

Result<DiskInfo> checkTarget(const fs::path& target, const DiskCheckOptions& opt) {
  struct stat st{};
  if (::stat(target.c_str(), &st) != 0) {
    if (!opt.require_block_device && errno == ENOENT) {
      // A file target that does not exist yet: it will be created.
      return DiskInfo{target.string(), "", false, 0};
    }
    return makeError("disk_missing", target.string() + " does not exist (the plan names it as the install disk)");
  }
  DiskInfo info;
  info.path = target.string();
  info.block = S_ISBLK(st.st_mode);
  if (!info.block && opt.require_block_device) {
    return makeError("not_block_device", target.string() + " is not a block device");
  }
  if (!info.block && !S_ISREG(st.st_mode)) {
    return makeError("not_block_device", target.string() + " is neither a block device nor a file");
  }
  if (info.block) {
    auto size = deviceSize(target);
    if (!size) return size.error();
    info.size_bytes = *size;
    info.name = devName(target.string(), "/");
    if (info.name.empty()) info.name = target.filename().string();
    if (opt.min_bytes > 0 && info.size_bytes < opt.min_bytes) {
      return makeError("disk_too_small", target.string() + " has " + std::to_string(info.size_bytes) +
                                             " bytes, the plan needs at least " +
                                             std::to_string(opt.min_bytes));
    }
    if (auto st2 = checkNotInUse(info.name, opt.root); !st2) return st2.error();
  }
  return info;
}

}  // namespace drover::agent
