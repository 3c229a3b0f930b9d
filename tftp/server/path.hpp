// Safe resolution of requested file names inside the served directories.
//
// normalizePath() turns a name from the wire into a relative path ("a/b/c"): backslashes
// become slashes, leading and doubled separators and "." components go, ".." removes the
// previous component and may never climb above the root. NUL and control bytes and
// over-long names are refused.
//
// RootedDir opens a normalised path inside one directory with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS): the kernel refuses any ".." or symlink (absolute or relative)
// that would leave the directory, while symlinks that stay inside work. Where openat2 is
// not available it walks the components with openat(O_NOFOLLOW), refusing every symlink.
// The opened file must be a regular file (checked with fstat on the descriptor), so
// devices, FIFOs and directories are refused, and opening never blocks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"

namespace drover::tftp {

inline constexpr std::size_t kMaxPathLength = 255;

// Error codes: "nul_byte", "bad_char", "too_long", "escapes_root", "empty".
Result<std::string> normalizePath(std::string_view raw);

struct OpenedFile {
  UniqueFd fd;
  std::uint64_t size = 0;
};

class RootedDir {
 public:
  // Opens the directory; "enoent"/"not_dir"/... if it cannot be used. A trusted directory
  // (a system directory on the search path, such as /usr/lib/ipxe, where Debian installs
  // ipxe.efi as a symlink to /boot/ipxe.efi) has its symlinks followed; names from the wire
  // are still normalised, so they cannot climb out of it with "..".
  static Result<RootedDir> open(const std::string& dir, bool trusted = false);

  // `path` must come from normalizePath(). Error codes: "not_found", "access_denied"
  // (escape attempt, symlink refused, permission), "not_regular", "io_error".
  Result<OpenedFile> openFile(const std::string& path) const;

  const std::string& path() const { return path_; }

  // Forces the component walk instead of openat2, to test the fallback.
  void useWalkForTest() { force_walk_ = true; }

 private:
  RootedDir(UniqueFd fd, std::string path, bool trusted)
      : fd_(std::move(fd)), path_(std::move(path)), trusted_(trusted) {}

  Result<UniqueFd> openBeneath(const std::string& path) const;
  Result<UniqueFd> openByWalk(const std::string& path) const;

  UniqueFd fd_;
  std::string path_;
  bool trusted_ = false;
  bool force_walk_ = false;
};

}  // namespace drover::tftp
