// Applying OCI layers (libarchive) and writing the root as a tarball.
#include <unistd.h>

#include <memory>
#include <set>
#include <system_error>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include "images/oci/oci_import.hpp"

namespace drover::images::oci {
namespace {

namespace fs = std::filesystem;

struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using Reader = std::unique_ptr<archive, ReadDeleter>;
using Writer = std::unique_ptr<archive, WriteDeleter>;

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

Result<Reader> openArchive(const fs::path& file) {
  Reader r(archive_read_new());
  archive_read_support_filter_all(r.get());
  archive_read_support_format_tar(r.get());
  if (archive_read_open_filename(r.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
    return makeError("bad_layer", fmt::format("{}: {}", file.string(), archive_error_string(r.get())));
  return r;
}

// An entry's path made relative and checked: no "..", nothing outside the root. Empty for
// the root itself.
Result<fs::path> safeName(const char* raw) {
  if (raw == nullptr) return makeError("bad_layer", "an entry without a name");
  fs::path out;
  for (const auto& part : fs::path(raw)) {
    const std::string s = part.string();
    if (s.empty() || s == "/" || s == ".") continue;
    if (s == "..") return makeError("bad_layer", fmt::format("entry \"{}\" leaves the root", raw));
    out /= part;
  }
  return out;
}

// Removes `p` (never following a symlink at p).
void removeTree(const fs::path& p) {
  std::error_code ec;
  if (fs::symlink_status(p, ec).type() == fs::file_type::not_found) return;
  fs::remove_all(p, ec);
}

Status copyData(archive* in, archive* out) {
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  for (;;) {
    const int rc = archive_read_data_block(in, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) return Status::success();
    if (rc != ARCHIVE_OK) return makeError("bad_layer", archive_error_string(in));
    if (archive_write_data_block(out, buf, size, offset) != ARCHIVE_OK)
      return makeError("eio", archive_error_string(out));
  }
}

}  // namespace

Status applyLayer(const fs::path& layer, const fs::path& root) {
  // Pass 1: whiteouts and opaque markers delete lower layers' content before this layer's
  // own entries are written (a tar may list them in any order).
  {
    auto in = openArchive(layer);
    if (!in) return in.error();
    archive_entry* e = nullptr;
    int rc;
    while ((rc = archive_read_next_header(in->get(), &e)) == ARCHIVE_OK) {
      auto name = safeName(archive_entry_pathname(e));
      if (!name) return name.error();
      const std::string base = name->filename().string();
      if (base == kOpaque) {
        std::error_code ec;
        const fs::path dir = root / name->parent_path();
        if (fs::symlink_status(dir, ec).type() == fs::file_type::directory)
          for (const auto& child : fs::directory_iterator(dir, ec)) removeTree(child.path());
      } else if (base.starts_with(kWhiteout)) {
        removeTree(root / name->parent_path() / base.substr(kWhiteout.size()));
      }
    }
    if (rc != ARCHIVE_EOF) return makeError("bad_layer", archive_error_string(in->get()));
  }
  // Pass 2: everything else, written under the root without following symlinks.
  auto in = openArchive(layer);
  if (!in) return in.error();
  Writer out(archive_write_disk_new());
  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_UNLINK | ARCHIVE_EXTRACT_XATTR;
  if (::geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(out.get(), flags);
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(in->get(), &e)) == ARCHIVE_OK) {
    auto name = safeName(archive_entry_pathname(e));
    if (!name) return name.error();
    if (name->filename().string().starts_with(kWhiteout)) continue;
    archive_entry_set_pathname(e, (root / *name).c_str());
    if (const char* target = archive_entry_hardlink(e)) {
      auto t = safeName(target);
      if (!t) return t.error();
      archive_entry_set_hardlink(e, (root / *t).c_str());
    }
    // A directory entry over an existing directory keeps its contents.
    std::error_code ec;
    if (archive_entry_filetype(e) == AE_IFDIR && fs::symlink_status(root / *name, ec).type() == fs::file_type::directory) {
      fs::permissions(root / *name, static_cast<fs::perms>(archive_entry_perm(e)), ec);
      continue;
    }
    if (archive_write_header(out.get(), e) != ARCHIVE_OK)
      return makeError("bad_layer", fmt::format("{}: {}", name->string(), archive_error_string(out.get())));
    if (archive_entry_size(e) > 0)
      if (auto st = copyData(in->get(), out.get()); !st) return st;
    if (archive_write_finish_entry(out.get()) != ARCHIVE_OK)
      return makeError("eio", fmt::format("{}: {}", name->string(), archive_error_string(out.get())));
  }
  if (rc != ARCHIVE_EOF) return makeError("bad_layer", archive_error_string(in->get()));
  if (archive_write_close(out.get()) != ARCHIVE_OK) return makeError("eio", archive_error_string(out.get()));
  return Status::success();
}

Status writeTarball(const fs::path& root, const fs::path& out_file) {
  Writer out(archive_write_new());
  archive_write_set_format_pax_restricted(out.get());
  if (archive_write_open_filename(out.get(), out_file.c_str()) != ARCHIVE_OK)
    return makeError("eio", fmt::format("{}: {}", out_file.string(), archive_error_string(out.get())));
  std::unique_ptr<archive, ReadDeleter> disk(archive_read_disk_new());
  archive_read_disk_set_symlink_physical(disk.get());
  archive_read_disk_set_standard_lookup(disk.get());
  if (archive_read_disk_open(disk.get(), root.c_str()) != ARCHIVE_OK)
    return makeError("eio", fmt::format("{}: {}", root.string(), archive_error_string(disk.get())));
  const std::string prefix = root.string();
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), &archive_entry_free);
  std::unique_ptr<archive_entry_linkresolver, decltype(&archive_entry_linkresolver_free)> links(
      archive_entry_linkresolver_new(), &archive_entry_linkresolver_free);
  archive_entry_linkresolver_set_strategy(links.get(), ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  for (;;) {
    archive_entry_clear(e.get());
    const int rc = archive_read_next_header2(disk.get(), e.get());
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return makeError("eio", archive_error_string(disk.get()));
    archive_read_disk_descend(disk.get());
    const std::string full = archive_entry_sourcepath(e.get());
    std::string rel = full.size() > prefix.size() ? full.substr(prefix.size() + 1) : ".";
    archive_entry_set_pathname(e.get(), rel.c_str());
    archive_entry* entry = e.get();
    archive_entry* sparse = nullptr;
    archive_entry_linkify(links.get(), &entry, &sparse);  // hard links as tar links
    if (entry == nullptr) continue;
    if (archive_write_header(out.get(), entry) != ARCHIVE_OK) return makeError("eio", archive_error_string(out.get()));
    if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0) {
      FILE* f = std::fopen(full.c_str(), "rb");
      if (f == nullptr) return makeError("eio", full + ": cannot open");
      char buf[65536];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) archive_write_data(out.get(), buf, n);
      std::fclose(f);
    }
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) return makeError("eio", archive_error_string(out.get()));
  return Status::success();
}

}  // namespace drover::images::oci
