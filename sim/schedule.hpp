// Who the simulated machines are and when they power on. Pure.
#pragma once

#include <cstdint>
#include <vector>

#include "common/net.hpp"
#include "sim/config.hpp"

namespace drover::sim {

// Power-on offsets for `clients` machines, spread uniformly over [0, spread], deterministic
// for a seed; element i belongs to machine i. Machines are then started in time order.
std::vector<Millis> powerOnSchedule(std::uint32_t clients, Millis spread, std::uint64_t seed);

// Machine indices ordered by power-on time (ties by index).
std::vector<std::uint32_t> startOrder(const std::vector<Millis>& schedule);

// Machine i's MAC: the base plus i in the low 24 bits (wrapping inside them).
MacAddress clientMac(const MacAddress& base, std::uint32_t index);

// A stable SMBIOS-style UUID derived from the MAC (what option 97 carries).
Uuid clientUuid(const MacAddress& mac);

}  // namespace drover::sim
