// Image references and registry credentials.
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "images/registry/registry.hpp"

namespace drover::images::registry {
namespace {

Error badReference(std::string_view text, const std::string& why) {
  return makeError("bad_reference", fmt::format("\"{}\": {}", text, why));
}

bool validComponent(std::string_view c) {
  if (c.empty() || !std::isalnum(static_cast<unsigned char>(c.front())) ||
      !std::isalnum(static_cast<unsigned char>(c.back())))
    return false;
  for (char ch : c) {
    const auto u = static_cast<unsigned char>(ch);
    if (!(std::islower(u) || std::isdigit(u) || ch == '.' || ch == '_' || ch == '-')) return false;
  }
  return true;
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
  for (char ch : t)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-'))
      return false;
  return true;
}

Error credentialsError(std::string message) {
  return makeError("registry_credentials", std::move(message));
}

}  // namespace

std::string Reference::str() const {
  return registry + "/" + repository + (digest.empty() ? ":" + tag : "@" + digest);
}

Result<Reference> parseReference(std::string_view text) {
  Reference r;
  const auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return badReference(text, "name the registry: host[:port]/repository[:tag|@sha256:...]");
  r.registry = std::string(text.substr(0, slash));
  if (r.registry.find_first_of(".:") == std::string::npos && r.registry != "localhost")
    return badReference(text,
                        "the first component must be a registry host (with a '.' or a "
                        "port, or localhost)");
  for (char ch : r.registry)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' ||
          ch == '[' || ch == ']'))
      return badReference(text, "not a registry host: " + r.registry);
  std::string_view rest = text.substr(slash + 1);
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    const auto d = rest.substr(at + 1);
    if (!d.starts_with("sha256:")) return badReference(text, "only sha256 digests are supported");
    if (auto s = Sha256::parse(d.substr(7)); !s || d.size() != 7 + 64)
      return badReference(text, "not a sha256 digest: " + std::string(d));
    r.digest = "sha256:" + Sha256::parse(d.substr(7))->hex();
    rest = rest.substr(0, at);
  }
  if (const auto colon = rest.rfind(':');
      colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    r.tag = std::string(rest.substr(colon + 1));
    if (!validTag(r.tag)) return badReference(text, "not a tag: " + r.tag);
    rest = rest.substr(0, colon);
  }
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  if (!r.digest.empty()) r.tag.clear();  // the digest decides
  r.repository = std::string(rest);
  std::size_t start = 0;
  while (start <= rest.size()) {
    const auto end = std::min(rest.find('/', start), rest.size());
    if (!validComponent(rest.substr(start, end - start)))
      return badReference(text, "not a repository name: " + r.repository);
    start = end + 1;
  }
  return r;
}

Result<std::optional<Credentials>> lookupCredentials(const std::filesystem::path& state_dir,
                                                     const std::string& registry) {
  const char* user = std::getenv("DROVER_REGISTRY_USERNAME");
  const char* pass = std::getenv("DROVER_REGISTRY_PASSWORD");
  if (user && pass) return std::optional<Credentials>(Credentials{user, pass});
  if (user || pass)
    return credentialsError(
        "DROVER_REGISTRY_USERNAME and DROVER_REGISTRY_PASSWORD go together: set both");
  const auto file = state_dir / kCredentialsFile;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<Credentials>();
    return credentialsError(file.string() + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return credentialsError(file.string() + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    return credentialsError(
        fmt::format("{} is readable by others (mode {:04o}); refused: chmod "
                    "600 it",
                    file.string(), st.st_mode & 07777));
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    return credentialsError(fmt::format("{}: {}", file.string(), e.what()));
  }
  if (!doc.IsMap())
    return credentialsError(file.string() +
                            ": expected a map of registries to {username, password}");
  const auto entry = doc[registry];
  if (!entry) return std::optional<Credentials>();
  if (!entry.IsMap() || !entry["username"] || !entry["password"] || !entry["username"].IsScalar() ||
      !entry["password"].IsScalar())
    return credentialsError(
        fmt::format("{}: \"{}\" needs a username and a password", file.string(), registry));
  return std::optional<Credentials>(
      Credentials{entry["username"].Scalar(), entry["password"].Scalar()});
}

}  // namespace drover::images::registry
