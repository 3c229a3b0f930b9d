// Value parsers shared by the config model and the servers: durations ("90s", "1h30m",
// "10d"), listen addresses ("0.0.0.0:69", ":8080", "[::]:80"), URLs and sha256 digests.
// Like net.hpp, each parser accepts what operators write, returns an Error that quotes
// the text, and formats back to one canonical form.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace drover {

// A sequence of <number><unit> parts, units w, d, h, m, s, in that order, each at most
// once: "90s", "1h", "10d", "1h30m", "2w". Error code "bad_duration".
Result<std::chrono::seconds> parseDuration(std::string_view text);

// The shortest canonical text for a duration: 5400s -> "1h30m", 0s -> "0s".
std::string formatDuration(std::chrono::seconds d);

// Where a server listens: "0.0.0.0:69", "192.0.2.1:8080", ":8080" (all addresses),
// "[::1]:8080", "localhost:8080". The port is required (0 lets the kernel choose).
// Error code "bad_listen".
struct ListenAddress {
  std::string host;  // empty means every address; IPv6 literals are kept without brackets
  std::uint16_t port = 0;

  static Result<ListenAddress> parse(std::string_view text);
  std::string str() const;  // "[::1]:80", "0.0.0.0:69", ":8080"

  friend auto operator<=>(const ListenAddress&, const ListenAddress&) = default;
};

// An absolute URL: scheme://host[:port][/path][?query]. Only the parts Drover needs are
// split out; user info and fragments are rejected. Error code "bad_url".
struct Url {
  std::string scheme;        // lower-case
  std::string host;          // IPv6 literals are kept without brackets
  std::uint16_t port = 0;    // the scheme's default when not written (http 80, https 443)
  std::string target = "/";  // path and query, always starting with '/'

  static Result<Url> parse(std::string_view text);
  std::string str() const;  // the default port is left out

  friend auto operator<=>(const Url&, const Url&) = default;
};

// A sha256 digest written as 64 hex digits, any case. Error code "bad_sha256".
class Sha256 {
 public:
  Sha256() = default;
  explicit Sha256(const std::array<std::uint8_t, 32>& bytes) : bytes_(bytes) {}

  static Result<Sha256> parse(std::string_view text);
  const std::array<std::uint8_t, 32>& bytes() const { return bytes_; }
  std::string hex() const;  // lower-case

  friend auto operator<=>(const Sha256&, const Sha256&) = default;

 private:
  std::array<std::uint8_t, 32> bytes_{};
};

}  // namespace drover
