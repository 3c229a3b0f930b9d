// What the catalog's sources share and nobody else needs: its logger and the store's unit
// of time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "common/log.hpp"

namespace drover::images::catalog::internal {

inline const std::shared_ptr<spdlog::logger>& logger() {
  static const auto l = log::get("images");
  return l;
}

inline std::int64_t toMs(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}

}  // namespace drover::images::catalog::internal
