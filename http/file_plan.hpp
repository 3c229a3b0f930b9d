// What to send for a file response, given the request's conditional and Range headers
// (RFC 9110 sections 13 and 14). Pure: no I/O, so every case is unit-tested.
//
// Decisions:
// - If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); both only for GET/HEAD.
//   A match answers 304 with the ETag and Last-Modified, no body.
// - One byte range ("bytes=0-99", "bytes=100-", "bytes=-100") answers 206 with
//   Content-Range. A range that starts at or past the end answers 416 with
//   "Content-Range: bytes */<size>".
// - Several ranges ("bytes=0-1,5-9") answer the whole file with 200: multipart/byteranges
//   is not worth its cost for boot assets, and RFC 9110 14.2 lets a server ignore Range.
//   A malformed Range header is ignored the same way.
// - If-Range with a different ETag (or date) also means "send it all" (200).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace drover::http {

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string formatHttpDate(std::time_t t);
// Accepts IMF-fixdate only (what every current client sends); nullopt otherwise.
std::optional<std::time_t> parseHttpDate(std::string_view s);

// Strong ETag for a file: from a content checksum when one is known (for example the
// image's sha256), else from size and modification time.
std::string makeEtag(std::uint64_t size, std::int64_t mtime_ns, std::string_view checksum = {});

struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

enum class RangeKind { kNone, kSingle, kUnsatisfiable };

struct RangeSpec {
  RangeKind kind = RangeKind::kNone;
  ByteRange range;
};

// Parses a Range header value against a representation of `size` bytes. Anything but a
// single well-formed byte range is kNone (serve the whole file).
RangeSpec parseRange(std::string_view header, std::uint64_t size);

struct ConditionalHeaders {
  std::string_view if_none_match;
  std::string_view if_modified_since;
  std::string_view range;
  std::string_view if_range;
};

struct FilePlan {
  unsigned status = 200;     // 200, 206, 304 or 416
  ByteRange body;            // bytes of the file to send (empty for 304/416)
  std::string content_range; // for 206 and 416
};

FilePlan planFileResponse(const ConditionalHeaders& h, std::uint64_t size, std::string_view etag,
                          std::time_t mtime);

}  // namespace drover::http
