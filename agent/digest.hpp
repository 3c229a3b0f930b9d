// Incremental SHA-256 (OpenSSL EVP).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace drover::agent {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const std::uint8_t> data);
  // Lowercase hex of the digest; the object must not be updated afterwards.
  std::string finalHex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256Hex(std::span<const std::uint8_t> data);

}  // namespace drover::agent
