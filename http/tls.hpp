// TLS for the API listener. `tls: auto` keeps a private CA and a server certificate in the
// state directory (state_dir/tls/{ca.crt,ca.key,server.crt,server.key}, keys mode 0600),
// all ECDSA P-256 made with OpenSSL's EVP APIs:
// - first start: a CA (10 years) and a server certificate signed by it (1 year) whose
//   subjectAltName lists the advertise address and 127.0.0.1 (plus any DNS names given);
// - later starts: both reused; the server certificate alone is re-issued, by the same CA,
//   when it lacks a requested address, expires within 30 days or no longer matches the CA.
//   The CA (and so the fingerprint agents pin) stays the same.
// The result carries the CA certificate's SHA-256 fingerprint, "sha256:<64 hex>", which
// goes on the kernel command line as drover.ca=.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace boost::asio::ssl {
class context;
}

namespace drover::http {

struct TlsFiles {
  std::filesystem::path ca_cert;
  std::filesystem::path ca_key;
  std::filesystem::path cert;
  std::filesystem::path key;
  std::string ca_fingerprint;  // "sha256:<64 lower-case hex>" of the CA certificate (DER)
  bool created_ca = false;     // this call made a new CA
  bool issued_cert = false;    // this call (re-)issued the server certificate
};

Result<TlsFiles> ensureAutoTls(const std::filesystem::path& state_dir, const std::vector<std::string>& ip_sans,
                               const std::vector<std::string>& dns_sans = {});

// "sha256:<hex>" of a PEM certificate file's DER encoding.
Result<std::string> certificateFingerprint(const std::filesystem::path& cert_pem);

// A TLS 1.2+ server context with the given certificate chain and key (PEM files).
Result<std::shared_ptr<boost::asio::ssl::context>> makeServerTlsContext(const std::filesystem::path& cert_chain,
                                                                        const std::filesystem::path& key);

}  // namespace drover::http
