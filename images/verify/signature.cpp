#include "images/verify/signature.hpp"

#include "common/base64.hpp"
#include "common/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace drover::images::verify {

// --- Sha256Hasher -------------------------------------------------------------------------
struct Sha256Hasher::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
}
Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(Sha256Hasher&&) noexcept = default;
Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&&) noexcept = default;

void Sha256Hasher::update(std::span<const std::uint8_t> data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

Sha256 Sha256Hasher::finish() {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  return Sha256(out);
}

// --- PublicKey ----------------------------------------------------------------------------
Result<PublicKey> PublicKey::fromPem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return makeError("key_invalid", "not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  PublicKey k;
  k.key_ = std::shared_ptr<void>(raw, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  switch (EVP_PKEY_get_base_id(raw)) {
    case EVP_PKEY_RSA: k.type_ = "rsa"; break;
    case EVP_PKEY_EC: k.type_ = "ecdsa"; break;
    case EVP_PKEY_ED25519:
      return makeError("key_unsupported",
                       "Ed25519 keys cannot be checked over a stream; use an RSA or ECDSA key");
    default: return makeError("key_unsupported", "only RSA and ECDSA keys sign images");
  }
  return k;
}

Result<PublicKey> PublicKey::load(const std::filesystem::path& pem_file) {
  auto text = readSmallFile(pem_file, 64 * 1024);
  if (!text) return makeError("key_unreadable", text.error().message);
  auto key = fromPem(*text);
  if (!key) return makeError(key.error().code, pem_file.string() + ": " + key.error().message);
  return key;
}

std::string_view PublicKey::type() const { return type_; }

// --- SignatureCheck -----------------------------------------------------------------------
struct SignatureCheck::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ready = false;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

SignatureCheck::SignatureCheck(const PublicKey& key) : impl_(std::make_unique<Impl>()) {
  impl_->ready = EVP_DigestVerifyInit(impl_->ctx, nullptr, EVP_sha256(), nullptr,
                                      static_cast<EVP_PKEY*>(key.handle())) == 1;
}
SignatureCheck::~SignatureCheck() = default;
SignatureCheck::SignatureCheck(SignatureCheck&&) noexcept = default;
SignatureCheck& SignatureCheck::operator=(SignatureCheck&&) noexcept = default;

void SignatureCheck::update(std::span<const std::uint8_t> data) {
  if (impl_->ready) impl_->ready = EVP_DigestVerifyUpdate(impl_->ctx, data.data(), data.size()) == 1;
}

Status SignatureCheck::finish(std::span<const std::uint8_t> signature) {
  if (!impl_->ready) return makeError("signature_invalid", "the key cannot verify signatures");
  const int rc = EVP_DigestVerifyFinal(impl_->ctx, signature.data(), signature.size());
  impl_->ready = false;
  if (rc == 1) return Status::success();
  if (rc == 0) return makeError("signature_mismatch", "the signature does not match the image");
  return makeError("signature_invalid", "the signature is malformed or of another key type");
}

// --- files --------------------------------------------------------------------------------
Result<std::vector<std::uint8_t>> decodeSignature(std::string_view content) {
  std::string b64;
  bool text = !content.empty();
  for (char c : content) {
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '+' || c == '/' || c == '=';
    if (alpha) b64.push_back(c);
    else if (c != '\n' && c != '\r' && c != ' ' && c != '\t') text = false;
  }
  if (!text) return std::vector<std::uint8_t>(content.begin(), content.end());
  auto raw = b64.empty() ? std::nullopt : decodeBase64(b64);
  if (!raw) return makeError("signature_invalid", "the signature is neither DER nor base64");
  return std::vector<std::uint8_t>(raw->begin(), raw->end());
}

Result<std::string> readSmallFile(const std::filesystem::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("enoent", path.string() + ": " + std::strerror(errno));
  std::string data(max_bytes + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.bad()) return makeError("eio", path.string() + ": read failed");
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > max_bytes) return makeError("eio", path.string() + ": larger than expected");
  return data;
}

Result<Sha256> checkFile(const std::filesystem::path& path, const FileCheck& check) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return makeError("enoent", path.string() + ": " + std::strerror(errno));
  Sha256Hasher hasher;
  std::optional<SignatureCheck> sig;
  if (check.key != nullptr) sig.emplace(*check.key);
  std::vector<std::uint8_t> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError("eio", path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    std::span<const std::uint8_t> chunk(buf.data(), static_cast<std::size_t>(n));
    hasher.update(chunk);
    if (sig) sig->update(chunk);
  }
  const Sha256 got = hasher.finish();
  if (check.expected != nullptr && got != *check.expected) {
    return makeError("sha256_mismatch",
                     "sha256 is " + got.hex() + ", the declaration says " + check.expected->hex());
  }
  if (sig) {
    if (auto st = sig->finish(check.signature); !st) return st.error();
  }
  return got;
}

}  // namespace drover::images::verify
