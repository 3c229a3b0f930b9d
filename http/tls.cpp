#include "http/tls.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <utility>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl/context.hpp>

#include "common/certificate.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace drover::http {
namespace {

namespace fs = std::filesystem;

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

constexpr long kCaDays = 3650;
constexpr long kCertDays = 365;
constexpr long kRenewBeforeDays = 30;

Error sslError(std::string_view what) {
  return makeError("tls_error",
                   std::string(what) + ": " + ERR_error_string(ERR_get_error(), nullptr));
}

drover::Status writeFileAtomic(const fs::path& path, const std::string& data, mode_t mode) {
  auto st = drover::writeFileAtomic(path, data, mode);
  if (!st) return makeError("tls_write", st.error().message);
  return {};
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Result<CertPtr> readCert(const fs::path& p) {
  BioPtr bio(BIO_new_file(p.c_str(), "r"));
  if (!bio) return makeError("tls_read", p.string() + ": cannot open");
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return sslError(p.string());
  return cert;
}

Result<KeyPtr> readKey(const fs::path& p) {
  BioPtr bio(BIO_new_file(p.c_str(), "r"));
  if (!bio) return makeError("tls_read", p.string() + ": cannot open");
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return sslError(p.string());
  return key;
}

drover::Status writeCert(const fs::path& p, X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return sslError("PEM_write_bio_X509");
  return writeFileAtomic(p, bioString(bio.get()), 0644);
}

drover::Status writeKey(const fs::path& p, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return sslError("PEM_write_bio_PrivateKey");
  return writeFileAtomic(p, bioString(bio.get()), 0600);
}

drover::Status addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return sslError("extension " + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return sslError("X509_add_ext");
  return {};
}

struct CertSpec {
  std::string common_name;
  long days = 0;
  std::vector<std::pair<int, std::string>> extensions;  // nid, value (issuer-dependent ones last)
};

// A certificate for `key`, signed by `issuer_key`; self-signed when `issuer` is null.
Result<CertPtr> makeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  CertPtr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return sslError("X509_new");
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return sslError("serial");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.days * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Drover"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (X509_set_pubkey(cert.get(), key) != 1) return sslError("X509_set_pubkey");
  X509* issuer_cert = issuer ? issuer : cert.get();
  for (const auto& [nid, value] : spec.extensions) {
    if (auto st = addExtension(cert.get(), issuer_cert, nid, value); !st) return st.error();
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return sslError("X509_sign");
  return cert;
}

std::string fingerprintOf(X509* cert) {
  return "sha256:" + certificateSha256(cert);
}

bool certStillGood(X509* cert, X509* ca, const std::vector<std::string>& ips,
                   const std::vector<std::string>& dns) {
  EVP_PKEY* ca_key = X509_get0_pubkey(ca);
  if (ca_key == nullptr || X509_verify(cert, ca_key) != 1) return false;
  std::time_t renew_at = std::time(nullptr) + kRenewBeforeDays * 24 * 3600;
  if (X509_cmp_time(X509_get0_notAfter(cert), &renew_at) <= 0) return false;
  for (const auto& ip : ips)
    if (X509_check_ip_asc(cert, ip.c_str(), 0) != 1) return false;
  for (const auto& name : dns)
    if (X509_check_host(cert, name.c_str(), name.size(), 0, nullptr) != 1) return false;
  return true;
}

}  // namespace

Result<std::string> certificateFingerprint(const fs::path& cert_pem) {
  auto cert = readCert(cert_pem);
  if (!cert) return cert.error();
  return fingerprintOf(cert->get());
}

Result<TlsFiles> ensureAutoTls(const fs::path& state_dir, const std::vector<std::string>& ip_sans,
                               const std::vector<std::string>& dns_sans) {
  TlsFiles files;
  const fs::path dir = state_dir / "tls";
  files.ca_cert = dir / "ca.crt";
  files.ca_key = dir / "ca.key";
  files.cert = dir / "server.crt";
  files.key = dir / "server.key";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return makeError("tls_state_dir", dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);

  CertPtr ca;
  KeyPtr ca_key;
  if (fs::exists(files.ca_cert) && fs::exists(files.ca_key)) {
    auto c = readCert(files.ca_cert);
    if (!c) return c.error();
    auto k = readKey(files.ca_key);
    if (!k) return k.error();
    ca = std::move(*c);
    ca_key = std::move(*k);
  } else {
    ca_key.reset(EVP_EC_gen("P-256"));
    if (!ca_key) return sslError("EVP_EC_gen");
    CertSpec spec{"Drover CA",
                  kCaDays,
                  {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                   {NID_subject_key_identifier, "hash"}}};
    auto c = makeCert(spec, ca_key.get(), nullptr, ca_key.get());
    if (!c) return c.error();
    ca = std::move(*c);
    if (auto st = writeKey(files.ca_key, ca_key.get()); !st) return st.error();
    if (auto st = writeCert(files.ca_cert, ca.get()); !st) return st.error();
    files.created_ca = true;
  }
  files.ca_fingerprint = fingerprintOf(ca.get());

  bool reuse = false;
  if (!files.created_ca && fs::exists(files.cert) && fs::exists(files.key)) {
    auto c = readCert(files.cert);
    auto k = readKey(files.key);
    reuse = c.ok() && k.ok() && X509_check_private_key(c->get(), k->get()) == 1 &&
            certStillGood(c->get(), ca.get(), ip_sans, dns_sans);
  }
  if (!reuse) {
    KeyPtr key(EVP_EC_gen("P-256"));
    if (!key) return sslError("EVP_EC_gen");
    std::string san;
    for (const auto& ip : ip_sans) san += (san.empty() ? "IP:" : ",IP:") + ip;
    for (const auto& name : dns_sans) san += (san.empty() ? "DNS:" : ",DNS:") + name;
    CertSpec spec{ip_sans.empty() ? std::string("drover") : ip_sans.front(),
                  kCertDays,
                  {{NID_basic_constraints, "critical,CA:FALSE"},
                   {NID_key_usage, "critical,digitalSignature"},
                   {NID_ext_key_usage, "serverAuth"},
                   {NID_subject_key_identifier, "hash"},
                   {NID_authority_key_identifier, "keyid:always"}}};
    if (!san.empty()) spec.extensions.emplace_back(NID_subject_alt_name, san);
    auto c = makeCert(spec, key.get(), ca.get(), ca_key.get());
    if (!c) return c.error();
    if (auto st = writeKey(files.key, key.get()); !st) return st.error();
    if (auto st = writeCert(files.cert, c->get()); !st) return st.error();
    files.issued_cert = true;
  }
  log::get("http")->info("HTTP_TLS_AUTO dir={} created_ca={} issued_cert={} ca={}", dir.string(),
                         files.created_ca, files.issued_cert, files.ca_fingerprint);
  return files;
}

namespace {
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
}  // namespace

Result<std::shared_ptr<boost::asio::ssl::context>> makeServerTlsContext(const fs::path& cert_chain,
                                                                        const fs::path& key) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(cert_chain.string(), ec);
  if (!ec) ctx->use_private_key_file(key.string(), ssl::context::pem, ec);
  if (ec) return makeError("tls_context", cert_chain.string() + ": " + ec.message());
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // TLS 1.2: forward-secret AEAD suites only (no CBC, no SHA-1 MACs, no static RSA key
  // exchange). TLS 1.3's suites are all AEAD; OpenSSL's defaults stand.
  if (SSL_CTX_set_cipher_list(ctx->native_handle(), kTls12Ciphers) != 1)
    return makeError("tls_context", "the TLS 1.2 cipher list was refused");
  return ctx;
}

}  // namespace drover::http
