#include "http/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "http/file_plan.hpp"
#include "http/url.hpp"

namespace drover::http {
namespace {

bool containsEncodedSeparator(std::string_view raw) {
  for (std::size_t i = 0; i + 2 < raw.size(); ++i) {
    if (raw[i] != '%') continue;
    char a = raw[i + 1];
    char b = static_cast<char>(raw[i + 2] | 0x20);
    if ((a == '2' && b == 'f') || (a == '5' && b == 'c')) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<std::string>> normaliseUrlPath(std::string_view raw, const StaticOptions& opts) {
  if (raw.size() > opts.max_path * 3) return makeError("bad_path", "path too long");
  if (containsEncodedSeparator(raw)) return makeError("bad_path", "encoded separator");
  auto decoded = percentDecode(raw);
  if (!decoded) return makeError("bad_path", "bad escape or NUL");
  if (decoded->size() > opts.max_path) return makeError("bad_path", "path too long");
  if (decoded->find('\\') != std::string::npos) return makeError("bad_path", "backslash");
  std::vector<std::string> out;
  std::string_view rest = *decoded;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (out.empty()) return makeError("bad_path", "climbs above the root");
      out.pop_back();
      continue;
    }
    if (seg.size() > opts.max_segment) return makeError("bad_path", "segment too long");
    if (seg.front() == '.' && !opts.allow_dotfiles) return makeError("bad_path", "dotfile");
    for (char c : seg)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return makeError("bad_path", "control character");
    out.emplace_back(seg);
  }
  if (out.empty()) return makeError("not_found", "a directory");
  return out;
}

std::string_view contentTypeFor(std::string_view name) {
  struct Entry {
    std::string_view ext, type;
  };
  static constexpr Entry kTypes[] = {
      {".ipxe", "text/plain; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},  {".css", "text/css"},
      {".js", "application/javascript"},      {".json", "application/json"},
      {".yaml", "text/yaml"},                 {".svg", "image/svg+xml"},
      {".png", "image/png"},                  {".gz", "application/gzip"},
      {".xz", "application/x-xz"},            {".zst", "application/zstd"},
  };
  for (const auto& e : kTypes)
    if (name.size() >= e.ext.size() && name.substr(name.size() - e.ext.size()) == e.ext) return e.type;
  return "application/octet-stream";
}

Result<StaticRoot> StaticRoot::open(const std::filesystem::path& root, StaticOptions opts) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return makeError("root_unavailable", root.string() + ": " + std::strerror(errno));
  return StaticRoot(std::make_shared<UniqueFd>(fd), opts);
}

Result<FileBody> StaticRoot::openFile(std::string_view raw_path, std::string_view checksum) const {
  auto segments = normaliseUrlPath(raw_path, opts_);
  if (!segments) return segments.error();
  return openSegments(*segments, checksum);
}

Result<FileBody> StaticRoot::openSegments(const std::vector<std::string>& segments,
                                          std::string_view checksum) const {
  UniqueFd current;
  int dirfd = dir_->get();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    bool last = i + 1 == segments.size();
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (last ? O_NONBLOCK : O_DIRECTORY);
    int fd = ::openat(dirfd, segments[i].c_str(), flags);
    if (fd < 0) return makeError("not_found", std::strerror(errno));
    current = UniqueFd(fd);
    dirfd = fd;
  }
  struct stat st {};
  if (::fstat(current.get(), &st) != 0 || !S_ISREG(st.st_mode)) return makeError("not_found", "not a regular file");
  FileBody body;
  body.size = static_cast<std::uint64_t>(st.st_size);
  body.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  body.etag = makeEtag(body.size, body.mtime_ns, checksum);
  body.fd = std::move(current);
  return body;
}

Handler StaticRoot::handler(ChecksumFn checksum_for) const {
  return [root = *this, checksum_for = std::move(checksum_for)](const Request& req) -> Response {
    auto segments = normaliseUrlPath(req.tail, root.opts_);
    if (!segments) {
      return segments.error().code == "bad_path"
                 ? Response::error(Status::bad_request, "bad_path", "path refused")
                 : Response::error(Status::not_found, "not_found", "no such file");
    }
    std::string checksum;
    if (checksum_for) {
      std::string rel;
      for (const auto& s : *segments) rel += (rel.empty() ? "" : "/") + s;
      checksum = checksum_for(rel);
    }
    auto file = root.openSegments(*segments, checksum);
    if (!file) return Response::error(Status::not_found, "not_found", "no such file");
    return Response::fromFile(std::move(*file), contentTypeFor(segments->back()));
  };
}

}  // namespace drover::http
