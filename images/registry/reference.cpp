// Image references and registry credentials.

#include <cctype>

#include <fmt/format.h>

#include "common/secrets/credentials_file.hpp"
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

}  // namespace

std::string Reference::str() const {
  return registry + "/" + repository + (digest.empty() ? ":" + tag : "@" + digest);
}

std::string Reference::host() const {
  return registry == kDockerHub ? std::string(kDockerHubApi) : registry;
}

Result<Reference> parseReference(std::string_view text) {
  Reference r;
  // The first component names the registry when it looks like a host (a '.' or a port, or
  // localhost), as Docker reads references; otherwise the image is on Docker Hub.
  const auto slash = text.find('/');
  const auto first = text.substr(0, slash == std::string_view::npos ? 0 : slash);
  std::string_view rest = text;
  if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
    r.registry = std::string(first);
    rest = text.substr(slash + 1);
  } else {
    r.registry = std::string(kDockerHub);
  }
  if (r.registry == "index.docker.io" || r.registry == kDockerHubApi)
    r.registry = std::string(kDockerHub);
  for (char ch : r.registry)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' ||
          ch == '[' || ch == ']'))
      return badReference(text, "not a registry host: " + r.registry);
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
  // Docker Hub's official images live under library/.
  if (r.registry == kDockerHub && r.repository.find('/') == std::string::npos)
    r.repository = "library/" + r.repository;
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
  constexpr std::string_view kCode = "registry_credentials";
  auto env = secrets::fromEnvironment("DROVER_REGISTRY", kCode);
  if (!env) return env.error();
  if (*env) return std::optional<Credentials>(Credentials{(*env)->username, (*env)->password});
  auto found = secrets::readEntry(state_dir / kCredentialsFile, registry, kCode, "registries");
  if (!found) return found.error();
  if (!found->entry) return std::optional<Credentials>();
  return std::optional<Credentials>(Credentials{found->entry->username, found->entry->password});
}

}  // namespace drover::images::registry
