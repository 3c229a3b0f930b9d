// Files served from a root directory, safe against hostile paths.
//
// The raw URL path is checked before decoding (encoded '/' and '\' are refused), then
// percent-decoded (a NUL byte or a bad escape is refused), split on '/', "." and empty
// segments dropped and ".." applied; a path that climbs above the root, an over-long path
// or segment, a backslash, or a dotfile segment is refused. The file is then opened one
// segment at a time with openat(O_NOFOLLOW) from a descriptor of the root, so no symlink is
// followed (not even one that points inside the root), and fstat must say "regular file".
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace drover::http {

struct StaticOptions {
  std::size_t max_path = 1024;       // bytes, decoded
  std::size_t max_segment = 255;     // NAME_MAX
  bool allow_dotfiles = false;
};

// Normalises a raw URL path into segments relative to the root, or an error
// ("bad_path"). Pure; exposed for tests.
Result<std::vector<std::string>> normaliseUrlPath(std::string_view raw, const StaticOptions& opts = {});

// Content-Type for a file name by extension (octet-stream when unknown).
std::string_view contentTypeFor(std::string_view name);

class StaticRoot {
 public:
  static Result<StaticRoot> open(const std::filesystem::path& root, StaticOptions opts = {});

  // Opens `raw_path` (as in the URL, still percent-encoded) inside the root. Errors:
  // "bad_path" (refused), "not_found" (missing, a symlink, or not a regular file).
  // The ETag comes from `checksum` when given, else from size and mtime.
  Result<FileBody> openFile(std::string_view raw_path, std::string_view checksum = {}) const;

  // A handler for a prefix route that serves Request::tail. `checksum_for` may supply a
  // known checksum (for example an image's sha256) for a normalised relative path.
  using ChecksumFn = std::function<std::string(const std::string& relative_path)>;
  Handler handler(ChecksumFn checksum_for = {}) const;

 private:
  StaticRoot(std::shared_ptr<UniqueFd> dir, StaticOptions opts) : dir_(std::move(dir)), opts_(opts) {}
  Result<FileBody> openSegments(const std::vector<std::string>& segments, std::string_view checksum) const;

  std::shared_ptr<UniqueFd> dir_;
  StaticOptions opts_;
};

}  // namespace drover::http
