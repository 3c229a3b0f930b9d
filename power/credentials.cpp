#include "power/credentials.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/secrets/credentials_file.hpp"

namespace drover::power {
namespace {

Error credentialsError(std::string message) {
  return makeError("bmc_credentials", std::move(message));
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
  constexpr std::string_view kCode = "bmc_credentials";
  const auto prefix = credentialsEnvPrefix(name);
  auto env = secrets::fromEnvironment(prefix, kCode);
  if (!env) return env.error();
  if (*env) return Credentials{(*env)->username, (*env)->password};
  const auto file = state_dir / kCredentialsFile;
  auto found = secrets::readEntry(file, name, kCode, "names");
  if (!found) return found.error();
  if (!found->file_exists)
    return credentialsError(
        fmt::format("no credentials \"{}\": {}_USERNAME/_PASSWORD are not set and {}: {}", name,
                    prefix, file.string(), std::strerror(ENOENT)));
  if (!found->entry)
    return credentialsError(fmt::format("{} has no entry \"{}\"", file.string(), name));
  return Credentials{found->entry->username, found->entry->password};
}

}  // namespace drover::power
