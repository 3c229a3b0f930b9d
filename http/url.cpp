#include "http/url.hpp"

#include "common/hex.hpp"

namespace drover::http {

std::optional<std::string> percentDecode(std::string_view s, bool plus_as_space) {
  // Most query values (MAC addresses, architectures) need no decoding: one scan, one copy.
  std::size_t plain = 0;
  while (plain < s.size() && s[plain] != '%' && s[plain] != '\0' &&
         (s[plain] != '+' || !plus_as_space))
    ++plain;
  if (plain == s.size()) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (s.size() - i < 3) return std::nullopt;
      const int hi = hexDigitValue(s[i + 1]);
      const int lo = hexDigitValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

QueryParams parseQuery(std::string_view query) {
  QueryParams out;
  out.reserve(4);  // a boot script request carries mac, uuid, arch and platform
  while (!query.empty() && out.size() < kMaxQueryParams) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value || key->empty() || findParam(out, *key) != nullptr) continue;
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

const std::string* findParam(const QueryParams& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

TargetParts splitTarget(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

}  // namespace drover::http
