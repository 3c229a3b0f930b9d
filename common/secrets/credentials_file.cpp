#include "common/secrets/credentials_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace drover::secrets {

Result<std::optional<UserPassword>> fromEnvironment(std::string_view prefix,
                                                    std::string_view code) {
  const std::string p(prefix);
  const char* user = std::getenv((p + "_USERNAME").c_str());
  const char* pass = std::getenv((p + "_PASSWORD").c_str());
  if (user && pass) return std::optional<UserPassword>(UserPassword{user, pass});
  if (user || pass)
    return makeError(std::string(code),
                     fmt::format("{}_USERNAME and {}_PASSWORD go together: set both", p, p));
  return std::optional<UserPassword>();
}

Result<FileEntry> readEntry(const std::filesystem::path& file, const std::string& name,
                            std::string_view code, std::string_view what) {
  auto fail = [&](std::string message) { return makeError(std::string(code), std::move(message)); };
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileEntry{};
    return fail(fmt::format("{}: {}", file.string(), std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return fail(file.string() + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    return fail(fmt::format("{} is readable by others (mode {:04o}); refused: chmod 600 it",
                            file.string(), st.st_mode & 07777));
  try {
    const YAML::Node doc = YAML::LoadFile(file.string());
    if (!doc.IsMap())
      return fail(
          fmt::format("{}: expected a map of {} to {{username, password}}", file.string(), what));
    const auto entry = doc[name];
    if (!entry) return FileEntry{true, std::nullopt};
    if (!entry.IsMap() || !entry["username"] || !entry["password"] ||
        !entry["username"].IsScalar() || !entry["password"].IsScalar())
      return fail(fmt::format("{}: \"{}\" needs a username and a password", file.string(), name));
    return FileEntry{true, UserPassword{entry["username"].Scalar(), entry["password"].Scalar()}};
  } catch (const YAML::Exception& e) {
    return fail(fmt::format("{}: {}", file.string(), e.what()));
  }
}

}  // namespace drover::secrets
