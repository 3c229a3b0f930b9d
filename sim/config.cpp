#include "sim/config.hpp"

#include <charconv>
#include <cctype>
#include <cmath>

namespace drover::sim {

Result<Millis> parseDuration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  const auto number = text.substr(0, i);
  const auto unit = text.substr(i);
  double value = 0;
  auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || p != number.data() + number.size() || value < 0) {
    return makeError("duration", "not a duration: '" + std::string(text) + "'");
  }
  double scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s" || unit.empty()) scale = 1000;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else return makeError("duration", "unknown unit in '" + std::string(text) + "' (ms, s, m, h)");
  const double ms = value * scale;
  if (ms > 7.0 * 24 * 3'600'000) return makeError("duration", "too long: '" + std::string(text) + "'");
  return Millis(static_cast<Millis::rep>(std::llround(ms)));
}

Result<std::vector<Millis>> parseDurations(std::string_view text) {
  std::vector<Millis> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto d = parseDuration(text.substr(0, comma));
    if (!d) return d.error();
    out.push_back(*d);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty()) return makeError("duration", "empty list");
  return out;
}

}  // namespace drover::sim
