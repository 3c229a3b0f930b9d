// Time as the engine sees it: whole seconds since the Unix epoch (lease expiry is stored in
// the same unit). Tests use a manual clock; the server uses the system clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace drover::dhcp {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace drover::dhcp
