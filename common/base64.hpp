// Standard base64 (RFC 4648, with padding, no line breaks), over OpenSSL's block codec.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace drover {

std::string encodeBase64(std::string_view bytes);
std::string encodeBase64(std::span<const std::uint8_t> bytes);
// nullopt when `text` is not base64 (a length that is not a multiple of 4, a character
// outside the alphabet, padding in the middle).
std::optional<std::string> decodeBase64(std::string_view text);

}  // namespace drover
