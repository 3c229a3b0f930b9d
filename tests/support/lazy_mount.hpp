// A lazyfs.py mount for power-loss tests: files written under mountpoint() stay in memory
// until fsync'ed; cut() is the power cut (unmount without writing anything else), after
// which backing() holds what a disk would hold. Needs /dev/fuse and Debian's python3-fusepy.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/netns.hpp"

namespace drover::dhcp::test {

class LazyMount {
 public:
  // Why this machine cannot run one (empty when it can).
  static std::string unavailable() {
    if (::access("/dev/fuse", R_OK | W_OK) != 0) return "no /dev/fuse";
    if (::access("/usr/bin/fusermount3", X_OK) != 0) return "fusermount3 missing (fuse3)";
    if (sh("/usr/bin/python3 -c 'import fusepy'") != 0) return "python3-fusepy missing";
    return "";
  }

  // Mounts `dir`/mnt over `dir`/disk; ok() tells whether it came up.
  explicit LazyMount(const std::string& dir) : backing_(dir + "/disk"), mnt_(dir + "/mnt") {
    std::filesystem::create_directories(backing_);
    std::filesystem::create_directories(mnt_);
    log_ = dir + "/lazyfs.out";
    fs_ = std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/python3", sourceDir() + "/tests/support/lazyfs.py",
                                 backing_, mnt_},
        log_);
    ok_ = waitFor([&] { return mounted() || !fs_->running(); }) && mounted();
  }

  ~LazyMount() {
    if (mounted()) sh("fusermount3 -u -z " + mnt_);
    fs_.reset();
  }

  bool ok() const { return ok_; }
  const std::string& backing() const { return backing_; }
  const std::string& mountpoint() const { return mnt_; }

  // The power cut: unmounts, so the file system exits without writing unsynced data.
  // Returns lazyfs's account of what was dropped.
  std::string cut() {
    sh("fusermount3 -u " + mnt_);
    fs_->wait();
    return readFile(log_);
  }

 private:
  bool mounted() const {
    return readFile("/proc/self/mounts").find(" " + mnt_ + " fuse") != std::string::npos;
  }

  std::string backing_, mnt_, log_;
  std::unique_ptr<Process> fs_;
  bool ok_ = false;
};

}  // namespace drover::dhcp::test
