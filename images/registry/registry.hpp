// Images pulled from an OCI distribution registry (docs/images.md, "From a registry"):
//
//  1. GET /v2/<repo>/manifests/<tag or digest>, accepting OCI indexes and manifests and
//     Docker v2 manifest lists and manifests; an index or list is resolved to one platform
//     (linux/amd64 unless told otherwise) and the chosen manifest fetched by digest. Every
//     manifest is checked against the digest it was asked by (or that the registry names);
//  2. a 401 is answered as registries ask: `Bearer realm=...,service=...,scope=...` gets a
//     token from the realm (with Basic credentials when there are any), `Basic` gets the
//     credentials themselves; the request is then made once more;
//  3. the config and the layers are fetched into a BlobStore: hashed as they stream,
//     refused as soon as they are longer than their descriptor says, resumed with Range
//     after an interruption (also from the partial file a previous run left), published
//     only when their sha256 is the one asked for. A blob already in the store is not
//     fetched again, so two images sharing a layer fetch it once;
//  4. an OCI image layout is written whose blobs are links into the store, for
//     drover::image_oci to import like any other layout.
//
// Every failure is a value with a code, counted in registry_pull_failures_total{reason}.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/values.hpp"
#include "images/store/blob_store.hpp"

namespace drover::images::registry {

// registry.example:5000/team/node:v1, registry.example/node@sha256:<hex>. The registry part
// is required (a first component with a '.' or ':', or "localhost"); no tag and no digest
// means "latest". Code bad_reference.
// Docker Hub: references without a registry host name it ("debian:bookworm" is
// docker.io/library/debian:bookworm), and its API is served from another host.
inline constexpr std::string_view kDockerHub = "docker.io";
inline constexpr std::string_view kDockerHubApi = "registry-1.docker.io";

struct Reference {
  std::string registry{};    // host[:port]; docker.io for Docker Hub (credentials' key)
  std::string repository{};  // team/node
  std::string tag{};         // empty when pulled by digest
  std::string digest{};      // "sha256:<hex>", or empty
  std::string str() const;
  std::string ref() const { return digest.empty() ? tag : digest; }
  std::string host() const;  // where the registry API is: registry-1.docker.io for docker.io
};
Result<Reference> parseReference(std::string_view text);

struct Credentials {
  std::string username{};
  std::string password{};
};

inline constexpr std::string_view kCredentialsFile = "registry-credentials.yaml";

// Credentials for `registry` (host[:port]), never from the command line:
//   1. DROVER_REGISTRY_USERNAME and DROVER_REGISTRY_PASSWORD (both, or neither);
//   2. <state dir>/registry-credentials.yaml, a regular file of mode 0600 or stricter
//      mapping registries to {username, password}:
//        registry.example:5000: {username: ci, password: "s3cret"}
// None at all is not an error (anonymous pulls). Code registry_credentials.
Result<std::optional<Credentials>> lookupCredentials(const std::filesystem::path& state_dir,
                                                     const std::string& registry);

struct Options {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant{};      // e.g. "v8" for arm64; empty: any
  std::string ca_file{};      // PEM bundle trusted instead of the system's
  bool plain_http = false;    // http:// instead of https://
  bool insecure_tls = false;  // https without certificate verification
  std::optional<Credentials> credentials{};
  int max_attempts = 4;  // per blob, transfers cut short in a row before giving up
  std::chrono::milliseconds backoff{200};
  long connect_timeout_s = 20;
  long stall_timeout_s = 60;
  std::FILE* progress = nullptr;  // progress of each blob; null: none
};

struct PullResult {
  Sha256 manifest_digest{};  // the platform's manifest
  Sha256 index_digest{};     // the index or list it was chosen from (zero when none)
  std::string platform{};    // "linux/amd64"
  std::size_t layers = 0;
  std::size_t blobs_fetched = 0;  // config and layers downloaded by this pull
  std::size_t blobs_cached = 0;   // found in the store already
  std::uint64_t bytes_fetched = 0;
  int resumes = 0;  // transfers continued with Range
};

// Pulls `ref` into `store` and writes an OCI image layout at `layout` (replaced). Codes:
// bad_reference, not_found (unknown repository, tag or digest), unauthorized (credentials or
// token refused, or none given when needed), denied (403), no_platform (the index has no
// manifest for the architecture), bad_manifest, unsupported (a non-sha256 digest, a v1
// manifest), digest_mismatch, tls, network, http_status, eio.
Result<PullResult> pull(const Reference& ref, const Options& options, store::BlobStore& store,
                        const std::filesystem::path& layout);

}  // namespace drover::images::registry
