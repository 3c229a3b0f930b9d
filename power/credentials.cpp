#include "power/credentials.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace drover::power {
namespace {

Error credentialsError(std::string message) {
  return makeError("bmc_credentials", std::move(message));
}

Result<Credentials> fromFile(const std::filesystem::path& file, const std::string& name) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return credentialsError(
        fmt::format("no credentials \"{}\": {}_USERNAME/_PASSWORD are not set and {}: {}", name,
                    credentialsEnvPrefix(name), file.string(), std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return credentialsError(file.string() + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    return credentialsError(
        fmt::format("{} is readable by others (mode {:04o}); refused: chmod 600 it", file.string(),
                    st.st_mode & 07777));
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    return credentialsError(fmt::format("{}: {}", file.string(), e.what()));
  }
  if (!doc.IsMap())
    return credentialsError(file.string() + ": expected a map of names to {username, password}");
  const auto entry = doc[name];
  if (!entry) return credentialsError(fmt::format("{} has no entry \"{}\"", file.string(), name));
  if (!entry.IsMap() || !entry["username"] || !entry["password"] || !entry["username"].IsScalar() ||
      !entry["password"].IsScalar())
    return credentialsError(
        fmt::format("{}: \"{}\" needs a username and a password", file.string(), name));
  return Credentials{entry["username"].Scalar(), entry["password"].Scalar()};
}

}  // namespace

std::string credentialsEnvPrefix(std::string_view name) {
  std::string out = "DROVER_BMC_";
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  return out;
}

Result<Credentials> lookupCredentials(const std::filesystem::path& state_dir,
                                      const std::string& name) {
  if (name.empty()) return credentialsError("the BMC names no credentials");
  const auto prefix = credentialsEnvPrefix(name);
  const char* user = std::getenv((prefix + "_USERNAME").c_str());
  const char* pass = std::getenv((prefix + "_PASSWORD").c_str());
  if (user && pass) return Credentials{user, pass};
  if (user || pass)
    return credentialsError(
        fmt::format("{}_USERNAME and {}_PASSWORD go together: set both", prefix, prefix));
  try {
    return fromFile(state_dir / kCredentialsFile, name);
  } catch (const YAML::Exception& e) {
    return credentialsError(e.what());
  }
}

}  // namespace drover::power
