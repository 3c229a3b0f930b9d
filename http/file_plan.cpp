#include "http/file_plan.hpp"

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace drover::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parseNumber(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Weak comparison (RFC 9110 8.8.3.2): W/ prefixes are ignored.
std::string_view opaque(std::string_view tag) {
  tag = trim(tag);
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  return tag;
}

bool etagListMatches(std::string_view list, std::string_view etag) {
  if (trim(list) == "*") return true;
  while (!list.empty()) {
    auto comma = list.find(',');
    if (opaque(list.substr(0, comma)) == opaque(etag)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

std::string formatHttpDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<std::time_t> parseHttpDate(std::string_view s) {
  s = trim(s);
  // "Sun, 06 Nov 1994 08:49:37 GMT" is exactly 29 characters.
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
      s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT")
    return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) { return parseNumber(s.substr(pos, len)); };
  auto day = num(5, 2), year = num(12, 4), hour = num(17, 2), min = num(20, 2), sec = num(23, 2);
  int month = -1;
  for (int i = 0; i < 12; ++i)
    if (s.substr(8, 3) == kMonths[i]) month = i;
  if (!day || !year || !hour || !min || !sec || month < 0 || *day < 1 || *day > 31 || *hour > 23 ||
      *min > 59 || *sec > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_mday = static_cast<int>(*day);
  tm.tm_mon = month;
  tm.tm_year = static_cast<int>(*year) - 1900;
  tm.tm_hour = static_cast<int>(*hour);
  tm.tm_min = static_cast<int>(*min);
  tm.tm_sec = static_cast<int>(*sec);
  return timegm(&tm);
}

std::string makeEtag(std::uint64_t size, std::int64_t mtime_ns, std::string_view checksum) {
  if (!checksum.empty()) return fmt::format("\"{}\"", checksum);
  return fmt::format("\"{:x}-{:x}\"", size, static_cast<std::uint64_t>(mtime_ns));
}

RangeSpec parseRange(std::string_view header, std::uint64_t size) {
  header = trim(header);
  if (header.substr(0, 6) != "bytes=") return {};
  std::string_view spec = trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return {};  // several ranges: send it all
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  std::string_view first = trim(spec.substr(0, dash));
  std::string_view last = trim(spec.substr(dash + 1));
  if (first.empty()) {  // suffix: the last N bytes
    auto n = parseNumber(last);
    if (!n) return {};
    if (*n == 0 || size == 0) return {RangeKind::kUnsatisfiable, {}};
    std::uint64_t len = std::min(*n, size);
    return {RangeKind::kSingle, {size - len, len}};
  }
  auto start = parseNumber(first);
  if (!start) return {};
  std::uint64_t end = size == 0 ? 0 : size - 1;
  if (!last.empty()) {
    auto e = parseNumber(last);
    if (!e || *e < *start) return {};
    end = std::min(*e, end);
  }
  if (*start >= size) return {RangeKind::kUnsatisfiable, {}};
  return {RangeKind::kSingle, {*start, end - *start + 1}};
}

FilePlan planFileResponse(const ConditionalHeaders& h, std::uint64_t size, std::string_view etag,
                          std::time_t mtime) {
  FilePlan plan;
  plan.body = {0, size};
  if (!h.if_none_match.empty()) {
    if (etagListMatches(h.if_none_match, etag)) {
      plan.status = 304;
      plan.body = {};
      return plan;
    }
  } else if (!h.if_modified_since.empty()) {
    auto since = parseHttpDate(h.if_modified_since);
    if (since && mtime <= *since) {
      plan.status = 304;
      plan.body = {};
      return plan;
    }
  }
  if (h.range.empty()) return plan;
  if (!h.if_range.empty()) {
    std::string_view ir = trim(h.if_range);
    bool fresh = false;
    if (!ir.empty() && (ir.front() == '"' || ir.substr(0, 2) == "W/")) {
      fresh = ir == etag;  // strong comparison only (RFC 9110 13.1.5)
    } else if (auto d = parseHttpDate(ir)) {
      fresh = *d == mtime;
    }
    if (!fresh) return plan;
  }
  RangeSpec spec = parseRange(h.range, size);
  if (spec.kind == RangeKind::kUnsatisfiable) {
    plan.status = 416;
    plan.body = {};
    plan.content_range = fmt::format("bytes */{}", size);
  } else if (spec.kind == RangeKind::kSingle) {
    plan.status = 206;
    plan.body = spec.range;
    plan.content_range = fmt::format("bytes {}-{}/{}", spec.range.offset,
                                     spec.range.offset + spec.range.length - 1, size);
  }
  return plan;
}

}  // namespace drover::http
