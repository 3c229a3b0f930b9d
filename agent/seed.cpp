#include "agent/seed.hpp"

#include "agent/root_files.hpp"
#include "common/fd.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace drover::agent {
namespace fs = std::filesystem;

namespace {

// A JSON string is a valid YAML double-quoted scalar.
std::string yamlQuote(const std::string& s) {
  return nlohmann::json(s).dump();
}

Error sysError(const std::string& what) {
  return makeError("seed", what + ": " + std::strerror(errno));
}

}  // namespace

std::string renderMetaData(const SeedData& s) {
  return "instance-id: " + yamlQuote(s.instance_id) + "\nlocal-hostname: " + yamlQuote(s.hostname) +
         "\n";
}

Status writeFileDurably(const fs::path& path, const std::string& content, unsigned mode) {
  const fs::path tmp = path.string() + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return sysError("open " + tmp.string());
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sysError("write " + tmp.string());
    off += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0)
    return sysError("fsync " + tmp.string());
  fd.close();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sysError("rename " + path.string());
  if (UniqueFd dir(::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dir) {
    ::fsync(dir.get());
  }
  return {};
}

Status writeSeedDir(const fs::path& installed_root, const SeedData& s) {
  if (s.user_data.rfind("#cloud-config", 0) != 0) {
    return makeError("seed", "user-data does not start with #cloud-config");
  }
  // Resolved inside the root: the image's own symlinks cannot lead the seed out of it.
  auto root = RootDir::open(installed_root);
  if (!root) return makeError("seed", root.error().message);
  auto dir = root->makeDirs(kNoCloudSeedDir);
  if (!dir) return makeError("seed", dir.error().message);
  if (auto st = RootDir::writeFile(dir->get(), "user-data", s.user_data, 0600); !st) {
    return makeError("seed", st.error().message);
  }
  if (auto st = RootDir::writeFile(dir->get(), "meta-data", renderMetaData(s), 0600); !st) {
    return makeError("seed", st.error().message);
  }
  return {};
}

Status buildCidataImage(const fs::path& image, const SeedData& s, const ExecFn& exec,
                        int size_kib) {
  const fs::path work = image.string() + ".d";
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) return makeError("seed", "create " + work.string() + ": " + ec.message());
  auto cleanup = [&] { fs::remove_all(work, ec); };
  if (auto st = writeFileDurably(work / "user-data", s.user_data, 0600); !st) return cleanup(), st;
  if (auto st = writeFileDurably(work / "meta-data", renderMetaData(s), 0600); !st)
    return cleanup(), st;
  fs::remove(image, ec);
  const std::vector<std::vector<std::string>> steps = {
      {"mkfs.vfat", "-n", "CIDATA", "-C", image.string(), std::to_string(size_kib)},
      {"mcopy", "-o", "-i", image.string(), (work / "user-data").string(), "::user-data"},
      {"mcopy", "-o", "-i", image.string(), (work / "meta-data").string(), "::meta-data"},
  };
  for (const auto& argv : steps) {
    auto rc = exec({argv, {}, (work / "log").string()});
    if (!rc || *rc != 0) {
      cleanup();
      return makeError("seed", argv[0] + " failed: " +
                                   (rc ? "exit " + std::to_string(*rc) : rc.error().message));
    }
  }
  cleanup();
  return {};
}

}  // namespace drover::agent
