// Hex digits: bytes to lowercase hex and back. The one place Drover turns digests, client
// ids, MACs and UUIDs into text and parses them again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace drover {

// Two lowercase digits per byte, no separators.
std::string toHex(std::span<const std::uint8_t> bytes);
std::string toHex(std::span<const std::byte> bytes);

// 0-15 for 0-9, a-f, A-F; -1 for anything else.
int hexDigitValue(char c);

// Reads exactly out.size() bytes from 2 * out.size() hex digits (either case). False, with
// `out` partly written, when `digits` has another length or a character that is not a digit.
bool fromHex(std::string_view digits, std::span<std::uint8_t> out);

}  // namespace drover
