// URL pieces a handler needs: percent-decoding and query strings. Pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace drover::http {

// Decodes %XX escapes (and '+' as a space when `plus_as_space`). nullopt on a malformed
// escape ("%4", "%zz") or when the result would contain a NUL byte.
std::optional<std::string> percentDecode(std::string_view s, bool plus_as_space = false);

// Parses `a=1&b=x%20y&flag` into {a: "1", b: "x y", flag: ""}. The first occurrence of a
// key wins; pairs with malformed escapes are skipped.
std::map<std::string, std::string> parseQuery(std::string_view query);

// Splits a request target into path and query ("/a?b=c" -> "/a", "b=c").
struct TargetParts {
  std::string_view path;
  std::string_view query;
};
TargetParts splitTarget(std::string_view target);

}  // namespace drover::http
