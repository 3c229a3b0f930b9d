#include "common/journal/fields.hpp"

#include <algorithm>

namespace drover::journal {
namespace {

bool isUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool isLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool isKeyChar(char c) {
  return isUpper(c) || isLower(c) || isDigit(c) || c == '_' || c == '-' || c == '.';
}

// Sets `name` to "DROVER_<KEY>=" with the key upper-cased; false when `key` is not a field
// name we keep. (An out parameter, filled in place: GCC 12 misreads the moves of a returned
// short string as overlapping copies.)
bool fieldName(std::string_view key, std::string& name) {
  constexpr std::string_view kPrefix = "DROVER_";
  if (key.empty() || key.size() > kMaxKey || !(isUpper(key[0]) || isLower(key[0]))) return false;
  name.assign(kPrefix.size() + key.size() + 1, '=');
  std::copy(kPrefix.begin(), kPrefix.end(), name.begin());
  for (std::size_t n = 0; n < key.size(); ++n) {
    const char c = key[n];
    name[kPrefix.size() + n] = isLower(c)               ? static_cast<char>(c - 'a' + 'A')
                               : (c == '-' || c == '.') ? '_'
                                                        : c;
  }
  return name != "DROVER_COMPONENT=" && name != "DROVER_EVENT=";
}

std::string capped(std::string_view value) {
  if (value.size() <= kMaxValue) return std::string(value);
  return std::string(value.substr(0, kMaxValue)) + "...";
}

}  // namespace

int priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;
    case spdlog::level::info:
      return 6;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::err:
      return 3;
    case spdlog::level::critical:
      return 2;
    default:
      return 6;
  }
}

std::string_view eventOf(std::string_view text) {
  std::size_t end = 0;
  while (end < text.size() && !isSpace(text[end])) ++end;
  const auto word = text.substr(0, end);
  if (word.empty() || word.size() > kMaxEvent || !isUpper(word[0])) return {};
  const bool upper = std::all_of(word.begin(), word.end(),
                                 [](char c) { return isUpper(c) || isDigit(c) || c == '_'; });
  return upper ? word : std::string_view{};
}

std::vector<std::string> entryFields(spdlog::level::level_enum level, std::string_view logger,
                                     std::string_view text) {
  std::vector<std::string> fields;
  fields.reserve(5 + kMaxPairs);
  fields.push_back("MESSAGE=" + std::string(text));
  fields.push_back("PRIORITY=" + std::to_string(priority(level)));
  fields.push_back("SYSLOG_IDENTIFIER=drover");
  fields.push_back("DROVER_COMPONENT=" + std::string(logger));
  const auto event = eventOf(text);
  if (!event.empty()) fields.push_back("DROVER_EVENT=" + std::string(event));
  const auto first_pair = fields.size();

  std::string name;
  std::size_t i = event.size();
  std::size_t pairs = 0;
  while (i < text.size() && pairs < kMaxPairs) {
    while (i < text.size() && isSpace(text[i])) ++i;
    std::size_t j = i;
    while (j < text.size() && isKeyChar(text[j])) ++j;
    if (j == i || j >= text.size() || text[j] != '=') {
      // Not a pair: skip the word.
      while (i < text.size() && !isSpace(text[i])) ++i;
      continue;
    }
    const auto key = text.substr(i, j - i);
    std::string_view value;
    if (j + 1 < text.size() && text[j + 1] == '"') {
      const auto close = text.find('"', j + 2);
      const auto stop = close == std::string_view::npos ? text.size() : close;
      value = text.substr(j + 2, stop - (j + 2));
      i = close == std::string_view::npos ? text.size() : close + 1;
    } else {
      std::size_t k = j + 1;
      while (k < text.size() && !isSpace(text[k])) ++k;
      value = text.substr(j + 1, k - (j + 1));
      i = k;
    }
    ++pairs;
    if (!fieldName(key, name)) continue;
    const bool seen =
        std::any_of(fields.begin() + static_cast<std::ptrdiff_t>(first_pair), fields.end(),
                    [&](const std::string& f) { return f.compare(0, name.size(), name) == 0; });
    if (!seen) fields.push_back(name + capped(value));
  }
  return fields;
}

}  // namespace drover::journal
