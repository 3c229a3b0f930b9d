#include "common/strings.hpp"

namespace drover {

std::vector<std::string> splitList(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= text.size()) {
    auto at = text.find(sep, i);
    if (at == std::string_view::npos) at = text.size();
    if (at > i) out.emplace_back(text.substr(i, at - i));
    i = at + 1;
  }
  return out;
}

std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace drover
