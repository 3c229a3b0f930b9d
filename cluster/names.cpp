#include "cluster/names.hpp"

#include <charconv>

#include <fmt/format.h>

namespace drover::cluster {
namespace {

bool isLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool isUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool isLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s)
    if (!isLower(c) && !isDigit(c) && c != '-') return false;
  return true;
}

bool hasSpaceOrControl(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return true;
  return false;
}

bool hasDotDot(std::string_view s) {
  std::size_t start = 0;
  while (start <= s.size()) {
    auto slash = s.find('/', start);
    auto part = s.substr(start, slash == std::string_view::npos ? s.npos : slash - start);
    if (part == "..") return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

// Long values (SSH keys) are cut in messages.
std::string quoted(std::string_view s) {
  if (s.size() > 48) return fmt::format("\"{}...\"", s.substr(0, 45));
  return fmt::format("\"{}\"", s);
}

}  // namespace

Result<std::string> checkName(std::string_view text) {
  bool ok = !text.empty() && text.size() <= 63 &&
            (isLower(text[0]) || isUpper(text[0]) || isDigit(text[0]));
  for (char c : text)
    ok = ok && (isLower(c) || isUpper(c) || isDigit(c) || c == '-' || c == '_' || c == '.');
  if (!ok)
    return makeError("bad_name", fmt::format("{} is not a valid name (1-63 letters, digits, "
                                             "'-', '_' or '.', starting with a letter or digit)",
                                             quoted(text)));
  return std::string(text);
}

Result<std::string> checkHostName(std::string_view text) {
  if (!isLabel(text))
    return makeError("bad_hostname",
                     fmt::format("{} is not a valid host name (1-63 of a-z, 0-9 and '-', not "
                                 "starting or ending with '-')",
                                 quoted(text)));
  return std::string(text);
}

Result<std::string> checkDomain(std::string_view text) {
  bool ok = !text.empty() && text.size() <= 253;
  std::size_t start = 0;
  while (ok) {
    auto dot = text.find('.', start);
    ok = isLabel(text.substr(start, dot == std::string_view::npos ? text.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (!ok) return makeError("bad_domain", fmt::format("{} is not a DNS domain", quoted(text)));
  return std::string(text);
}

Result<std::string> checkAbsolutePath(std::string_view text) {
  if (text.empty() || text.front() != '/' || text.find('\0') != text.npos ||
      text.find('\n') != text.npos)
    return makeError("bad_path", fmt::format("{} is not an absolute path", quoted(text)));
  return std::string(text);
}

Result<std::string> checkRelativeOrAbsolute(std::string_view text) {
  if (text.empty() || text.find('\0') != text.npos || text.find('\n') != text.npos)
    return makeError("bad_path", fmt::format("{} is not a file path", quoted(text)));
  return std::string(text);
}

Result<std::string> checkLoaderFile(std::string_view text) {
  if (text.empty() || text.front() == '/' || hasSpaceOrControl(text) || hasDotDot(text))
    return makeError("bad_loader",
                     fmt::format("{} is not a loader file name (a path relative to the TFTP "
                                 "root, without spaces or \"..\")",
                                 quoted(text)));
  return std::string(text);
}

Result<std::string> checkDiskPath(std::string_view text) {
  if (text.size() <= 5 || text.substr(0, 5) != "/dev/" || hasSpaceOrControl(text) ||
      hasDotDot(text))
    return makeError("bad_disk",
                     fmt::format("{} is not a disk device (expected /dev/...)", quoted(text)));
  return std::string(text);
}

Result<std::string> checkImageRef(std::string_view text) {
  if (text.empty() || text.size() > 255 || hasSpaceOrControl(text) ||
      text.find("${") != std::string_view::npos)
    return makeError("bad_image_ref",
                     fmt::format("{} is not a container image reference", quoted(text)));
  return std::string(text);
}

Result<std::string> checkSshKey(std::string_view text) {
  auto space = text.find(' ');
  auto type = text.substr(0, space);
  const bool known_type = type.starts_with("ssh-") || type.starts_with("ecdsa-sha2-") ||
                          type.starts_with("sk-ssh-") || type.starts_with("sk-ecdsa-");
  bool ok = known_type && space != std::string_view::npos;
  if (ok) {
    auto rest = text.substr(space + 1);
    auto blob = rest.substr(0, rest.find(' '));
    ok = blob.size() >= 16;
    for (char c : blob)
      ok = ok && (isLower(c) || isUpper(c) || isDigit(c) || c == '+' || c == '/' || c == '=');
  }
  if (!ok)
    return makeError("bad_ssh_key",
                     fmt::format("{} is not an SSH public key (expected \"<type> <base64> "
                                 "[comment]\")",
                                 quoted(text)));
  return std::string(text);
}

Result<Url> parseHttpUrl(std::string_view text) {
  auto url = Url::parse(text);
  if (!url) return url;
  if (url->scheme != "http" && url->scheme != "https")
    return makeError("bad_url", fmt::format("\"{}\" is not an http:// or https:// URL", text));
  return url;
}

Result<std::uint8_t> parseOptionCode(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 254)
    return makeError("bad_option_code",
                     "'" + std::string(text) + "' is not a DHCP option code (1-254)");
  return static_cast<std::uint8_t>(value);
}

}  // namespace drover::cluster
