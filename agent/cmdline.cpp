#include "agent/cmdline.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace drover::agent {

std::string_view modeName(Mode m) {
  switch (m) {
    case Mode::Install:
      return "install";
    case Mode::Discover:
      return "discover";
    case Mode::Join:
      return "join";
  }
  return "?";
}

std::vector<std::string> splitCmdline(std::string_view cmdline) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  bool quoted = false;
  for (char c : cmdline) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;
      continue;
    }
    if (!quoted && std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    cur.push_back(c);
    in_word = true;
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

std::map<std::string, std::string> droverKeys(std::string_view cmdline) {
  std::map<std::string, std::string> keys;
  for (auto& w : splitCmdline(cmdline)) {
    if (w.rfind("drover.", 0) != 0) continue;
    auto eq = w.find('=');
    if (eq == std::string::npos) {
      keys[w] = "";
    } else {
      keys[w.substr(0, eq)] = w.substr(eq + 1);
    }
  }
  return keys;
}

Result<std::string> normalizeFingerprint(std::string_view text) {
  std::string_view t = text;
  if (t.rfind("sha256:", 0) == 0 || t.rfind("SHA256:", 0) == 0) t.remove_prefix(7);
  std::string hex;
  for (char c : t) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return makeError("bad_ca", "drover.ca: not a hex digit in '" + std::string(text) + "'");
    }
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (hex.size() != 64) {
    return makeError("bad_ca", "drover.ca: want sha256:<64 hex digits>, got " +
                                   std::to_string(hex.size()) + " digits");
  }
  return hex;
}

namespace {

constexpr std::size_t kMaxApiUrls = 16;

Result<std::string> checkApiUrl(std::string url) {
  const std::size_t scheme = url.rfind("https://", 0) == 0  ? 8
                             : url.rfind("http://", 0) == 0 ? 7
                                                            : 0;
  if (scheme == 0) {
    return makeError("bad_api", "drover.api must start with https:// or http://: " + url);
  }
  // Trailing slashes go, the scheme's own stay: "https:///" has no host, it is not "https:".
  while (url.size() > scheme && url.back() == '/') url.pop_back();
  if (url.size() == scheme || url[scheme] == '/') {
    return makeError("bad_api", "drover.api has no host: " + url);
  }
  return url;
}

}  // namespace

Result<BootParams> validateParams(BootParams p, bool token_required) {
  // "a,b,c": the first is the API, the others are alternates tried after it.
  std::vector<std::string> urls;
  for (std::size_t start = 0; start <= p.api.size();) {
    const std::size_t comma = std::min(p.api.find(',', start), p.api.size());
    if (comma > start) urls.push_back(p.api.substr(start, comma - start));
    start = comma + 1;
  }
  for (auto& alt : p.api_alternates) urls.push_back(alt);
  if (urls.empty()) return makeError("missing_api", "drover.api (--api) is required");
  if (urls.size() > kMaxApiUrls) {
    return makeError("bad_api",
                     fmt::format("drover.api lists {} URLs, at most {}", urls.size(), kMaxApiUrls));
  }
  for (auto& url : urls) {
    auto checked = checkApiUrl(std::move(url));
    if (!checked) return checked.error();
    url = std::move(*checked);
  }
  p.api = urls.front();
  p.api_alternates.assign(urls.begin() + 1, urls.end());
  if (token_required && p.token.empty()) {
    return makeError("missing_token", "drover.token (--token) is required");
  }
  if (!p.ca_fingerprint.empty()) {
    auto fp = normalizeFingerprint(p.ca_fingerprint);
    if (!fp) return fp.error();
    p.ca_fingerprint = *fp;
  }
  return p;
}

Result<BootParams> parseKernelCmdline(std::string_view cmdline) {
  auto keys = droverKeys(cmdline);
  BootParams p;
  p.api = keys["drover.api"];
  p.ca_fingerprint = keys["drover.ca"];
  p.token = keys["drover.token"];
  p.node = keys["drover.node"];
  const std::string mode = keys.count("drover.mode") ? keys["drover.mode"] : "install";
  if (mode == "install" || mode.empty()) {
    p.mode = Mode::Install;
  } else if (mode == "discover") {
    p.mode = Mode::Discover;
  } else {
    return makeError("bad_mode", "drover.mode must be install or discover, got '" + mode + "'");
  }
  const bool token_required = p.mode == Mode::Install;
  return validateParams(std::move(p), token_required);
}

}  // namespace drover::agent
