#include "common/values.hpp"

#include "common/hex.hpp"

#include <charconv>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace drover {
namespace {

constexpr std::string_view kUnits = "wdhms";
constexpr std::int64_t kUnitSeconds[] = {7 * 86400, 86400, 3600, 60, 1};

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A decimal port 0-65535, digits only.
std::optional<std::uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [next, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || next != text.data() + text.size() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// Host names and IPv4 literals: letters, digits, '-', '.', '_'.
bool isHostName(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h)
    if (!isAlpha(c) && !isDigit(c) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

bool isIpv6Literal(std::string_view h) {
  if (h.empty()) return false;
  for (char c : h)
    if (hexDigitValue(c) < 0 && c != ':' && c != '.') return false;
  return h.find(':') != std::string_view::npos;
}

struct HostPort {
  std::string host;
  std::optional<std::uint16_t> port;
  bool has_port = false;
};

// "host", "host:port", "[v6]", "[v6]:port". nullopt when malformed.
std::optional<HostPort> splitHostPort(std::string_view text) {
  HostPort hp;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto v6 = text.substr(1, close - 1);
    if (!isIpv6Literal(v6)) return std::nullopt;
    hp.host = std::string(v6);
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
  } else {
    auto colon = text.rfind(':');
    auto host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6
    if (!host.empty() && !isHostName(host)) return std::nullopt;
    hp.host = std::string(host);
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (!rest.empty()) {
    hp.has_port = true;
    hp.port = parsePort(rest.substr(1));
    if (!hp.port) return std::nullopt;
  }
  return hp;
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

Result<std::chrono::seconds> parseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return makeError("bad_duration", fmt::format("\"{}\" is not a duration{}", text, why));
  };
  constexpr std::string_view kHint = " (use e.g. 90s, 15m, 1h30m, 10d)";
  if (text.empty()) return bad(kHint);
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units must come in kUnits order, each at most once
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && isDigit(text[i])) ++i;
    if (i == start) return bad(kHint);
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data() + start, text.data() + i, n);
    if (ec != std::errc() || p != text.data() + i) return bad(" (number too large)");
    if (i == text.size()) return bad(" (missing unit: w, d, h, m or s)");
    auto unit = kUnits.find(text[i]);
    if (unit == std::string_view::npos) return bad(" (unknown unit; use w, d, h, m or s)");
    if (unit < next_unit) return bad(" (units must go from largest to smallest, once each)");
    next_unit = unit + 1;
    ++i;
    const auto scale = kUnitSeconds[unit];
    if (n > (std::numeric_limits<std::int64_t>::max() - total) / scale)
      return bad(" (number too large)");
    total += n * scale;
  }
  return std::chrono::seconds(total);
}

std::string formatDuration(std::chrono::seconds d) {
  auto left = d.count();
  if (left <= 0) return fmt::format("{}s", left);
  std::string out;
  for (std::size_t u = 0; u < kUnits.size(); ++u) {
    // Weeks only when the whole duration is whole weeks: "10d" reads better than "1w3d".
    if (u == 0 && left % kUnitSeconds[0] != 0) continue;
    if (left >= kUnitSeconds[u]) {
      out += fmt::format("{}{}", left / kUnitSeconds[u], kUnits[u]);
      left %= kUnitSeconds[u];
    }
  }
  return out;
}

Result<ListenAddress> ListenAddress::parse(std::string_view text) {
  auto hp = splitHostPort(text);
  if (!hp || !hp->has_port)
    return makeError("bad_listen",
                     fmt::format("\"{}\" is not a listen address (expected host:port, "
                                 "e.g. 0.0.0.0:69 or :8080)",
                                 text));
  return ListenAddress{hp->host, *hp->port};
}

std::string ListenAddress::str() const {
  return fmt::format("{}:{}", bracketed(host), port);
}

Result<Url> Url::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return makeError("bad_url", fmt::format("\"{}\" is not a URL{}", text, why));
  };
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad(" (expected scheme://host/path)");
  Url url;
  for (std::size_t i = 0; i < sep; ++i) {
    char c = text[i];
    const bool ok = isAlpha(c) || (i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'));
    if (!ok) return bad(" (bad scheme)");
    url.scheme.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  auto rest = text.substr(sep + 3);
  for (char c : rest) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad(" (spaces and control characters must be %-encoded)");
    if (c == '#') return bad(" (fragments are not allowed)");
  }
  auto path_start = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) return bad(" (user info is not allowed)");
  auto hp = splitHostPort(authority);
  if (!hp || hp->host.empty()) return bad(" (bad host or port)");
  url.host = hp->host;
  if (hp->has_port) {
    url.port = *hp->port;
  } else if (url.scheme == "http") {
    url.port = 80;
  } else if (url.scheme == "https") {
    url.port = 443;
  }
  if (path_start != std::string_view::npos) {
    auto target = rest.substr(path_start);
    url.target = target.front() == '?' ? "/" + std::string(target) : std::string(target);
  }
  return url;
}

std::string Url::str() const {
  const bool default_port =
      (scheme == "http" && port == 80) || (scheme == "https" && port == 443) || port == 0;
  if (default_port) return fmt::format("{}://{}{}", scheme, bracketed(host), target);
  return fmt::format("{}://{}:{}{}", scheme, bracketed(host), port, target);
}

Result<Sha256> Sha256::parse(std::string_view text) {
  std::array<std::uint8_t, 32> b{};
  if (!fromHex(text, b))
    return makeError("bad_sha256",
                     fmt::format("\"{}\" is not a sha256 digest (expected 64 hex digits)", text));
  return Sha256(b);
}

std::string Sha256::hex() const {
  return toHex(bytes_);
}

}  // namespace drover
