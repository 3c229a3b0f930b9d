// URL pieces a handler needs: percent-decoding and query strings. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drover::http {

// Decodes %XX escapes (and '+' as a space when `plus_as_space`). nullopt on a malformed
// escape ("%4", "%zz") or when the result would contain a NUL byte.
std::optional<std::string> percentDecode(std::string_view s, bool plus_as_space = false);

// A query's parameters in their order (a handful per request: a vector, searched in turn).
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// At most this many parameters are kept: no route reads more than a handful, and a hostile
// target of thousands of distinct keys would otherwise cost a search per key.
inline constexpr std::size_t kMaxQueryParams = 64;

// Parses `a=1&b=x%20y&flag` into {a: "1", b: "x y", flag: ""}. The first occurrence of a
// key wins (later ones are dropped); pairs with malformed escapes are skipped; after
// kMaxQueryParams parameters the rest of the query is ignored.
QueryParams parseQuery(std::string_view query);
// The value of `key` in `params`, or null.
const std::string* findParam(const QueryParams& params, std::string_view key);

// Splits a request target into path and query ("/a?b=c" -> "/a", "b=c").
struct TargetParts {
  std::string_view path;
  std::string_view query;
};
TargetParts splitTarget(std::string_view target);

}  // namespace drover::http
