// Writing into the installed root, which comes from the image the server sent: its
// directories may be symlinks, absolute or with "..", and must not lead the agent out of it.
// Every path is resolved as if the root were "/" (openat2 RESOLVE_IN_ROOT), so a symlink
// /etc/drover -> /opt/drover lands in <root>/opt/drover, never in the boot environment; the
// file itself is created anew (a symlink or device node in its place is replaced, not
// followed).
#pragma once

#include <filesystem>
#include <string>

#include "common/fd.hpp"
#include "common/result.hpp"

namespace drover::agent {

class RootDir {
 public:
  // Created when missing (the root itself is the agent's own path). Error code: root.
  static Result<RootDir> open(const std::filesystem::path& root);

  // Creates the relative directory `rel` and its parents inside the root; returns the
  // directory, opened. A component that exists as something else is an error (`root`).
  Result<UniqueFd> makeDirs(const std::filesystem::path& rel) const;

  // <dir>/<name> (a plain name) written durably: temporary file, fsync, rename, fsync of
  // the directory. `mode` is applied whatever the umask.
  static Status writeFile(int dir, const std::string& name, const std::string& content,
                          unsigned mode);
  // Copies the local file `from` (a path of the boot environment) to <dir>/<name>.
  static Status copyFile(const std::filesystem::path& from, int dir, const std::string& name,
                         unsigned mode);
  // <dir>/<name> -> target, replacing what was there.
  static Status symlink(int dir, const std::string& name, const std::string& target);

  const std::filesystem::path& path() const { return path_; }

 private:
  RootDir(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}

  UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace drover::agent
