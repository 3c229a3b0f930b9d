// Checksums and detached signatures over image blobs (OpenSSL EVP). Pure: no I/O beyond
// reading the named files, no logging.
//
// A signature is what `openssl dgst -sha256 -sign key.pem -out file.sig file` writes: an
// RSA (PKCS#1 v1.5) or ECDSA signature over the SHA-256 of the bytes, raw DER or base64.
// Both are checked over a stream, so a multi-GiB image is never held in memory. Ed25519
// keys are refused: OpenSSL 3.0 verifies pure Ed25519 only over the whole message at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/values.hpp"

namespace drover::images::verify {

// Incremental SHA-256.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept;

  void update(std::span<const std::uint8_t> data);
  Sha256 finish();  // the hasher must not be updated afterwards

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A trusted public key (PEM). Error codes: key_unreadable, key_invalid, key_unsupported.
class PublicKey {
 public:
  static Result<PublicKey> fromPem(std::string_view pem);
  static Result<PublicKey> load(const std::filesystem::path& pem_file);

  std::string_view type() const;  // "rsa" or "ecdsa"
  void* handle() const { return key_.get(); }  // EVP_PKEY*

 private:
  std::shared_ptr<void> key_;
  std::string_view type_;
};

// A streaming signature check: update() with every byte of the blob, then finish().
// Error codes: signature_mismatch, signature_invalid.
class SignatureCheck {
 public:
  explicit SignatureCheck(const PublicKey& key);
  ~SignatureCheck();
  SignatureCheck(SignatureCheck&&) noexcept;
  SignatureCheck& operator=(SignatureCheck&&) noexcept;

  void update(std::span<const std::uint8_t> data);
  Status finish(std::span<const std::uint8_t> signature);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Raw signature bytes from a signature file's content: DER as written by openssl, or the
// same in base64 (whitespace ignored). Error code signature_invalid.
Result<std::vector<std::uint8_t>> decodeSignature(std::string_view content);


// Reads a whole (small) file. Error code enoent / eio with the path in the message.
Result<std::string> readSmallFile(const std::filesystem::path& path, std::size_t max_bytes = 1 << 20);

// What a file hashes to and, when `key` is given, whether `signature` signs it, in one
// pass. Error codes: enoent, eio, sha256_mismatch (when `expected` differs), and the
// SignatureCheck codes.
struct FileCheck {
  const Sha256* expected = nullptr;
  const PublicKey* key = nullptr;
  std::span<const std::uint8_t> signature;
};
Result<Sha256> checkFile(const std::filesystem::path& path, const FileCheck& check = {});

}  // namespace drover::images::verify
