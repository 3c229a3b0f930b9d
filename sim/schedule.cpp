#include "sim/schedule.hpp"

#include <algorithm>
#include <numeric>

namespace drover::sim {
namespace {

// SplitMix64: a small, portable generator (the same sequence on every platform).
std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<Millis> powerOnSchedule(std::uint32_t clients, Millis spread, std::uint64_t seed) {
  std::vector<Millis> out(clients, Millis(0));
  if (spread.count() <= 0) return out;
  const auto span = static_cast<std::uint64_t>(spread.count()) + 1;
  for (std::uint32_t i = 0; i < clients; ++i) {
    out[i] = Millis(static_cast<Millis::rep>(splitmix(seed * 0x100000001b3ULL + i) % span));
  }
  return out;
}

std::vector<std::uint32_t> startOrder(const std::vector<Millis>& schedule) {
  std::vector<std::uint32_t> order(schedule.size());
  std::iota(order.begin(), order.end(), 0U);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return schedule[a] < schedule[b]; });
  return order;
}

MacAddress clientMac(const MacAddress& base, std::uint32_t index) {
  auto o = base.octets();
  const std::uint32_t low = ((std::uint32_t{o[3]} << 16) | (std::uint32_t{o[4]} << 8) | o[5]) + index;
  o[3] = static_cast<std::uint8_t>(low >> 16);
  o[4] = static_cast<std::uint8_t>(low >> 8);
  o[5] = static_cast<std::uint8_t>(low);
  return MacAddress(o);
}

Uuid clientUuid(const MacAddress& mac) {
  std::array<std::uint8_t, 16> b{0x4c, 0x4c, 0x45, 0x44, 0x00, 0x53, 0x10, 0x4d, 0x80, 0x00};
  std::copy(mac.octets().begin(), mac.octets().end(), b.begin() + 10);
  return Uuid(b);
}

}  // namespace drover::sim
