// Signing material for the image tests, made with the openssl command line: a key pair
// and `openssl dgst -sha256 -sign` signatures, exactly what an operator would run.
#pragma once

#include <filesystem>
#include <string>

#include "tests/images/shell.hpp"

namespace drover::test {

// type: "ec" (P-256), "rsa" or "ed25519". Writes <dir>/<name>.key and <dir>/<name>.pub.
inline bool makeKeyPair(const std::filesystem::path& dir, const std::string& name, const std::string& type) {
  const auto key = (dir / (name + ".key")).string();
  const auto pub = (dir / (name + ".pub")).string();
  std::string gen = type == "rsa"       ? "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + key
                    : type == "ed25519" ? "openssl genpkey -algorithm ED25519 -out " + key
                                        : "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + key;
  return run(gen) == 0 && run("openssl pkey -in " + key + " -pubout -out " + pub) == 0;
}

// Signs `file` into `sig` with <dir>/<name>.key; base64 when asked.
inline bool sign(const std::filesystem::path& dir, const std::string& name, const std::filesystem::path& file,
                 const std::filesystem::path& sig, bool base64 = false) {
  const auto key = (dir / (name + ".key")).string();
  if (!base64) return run("openssl dgst -sha256 -sign " + key + " -out " + sig.string() + " " + file.string()) == 0;
  return run("openssl dgst -sha256 -sign " + key + " " + file.string() + " | openssl base64 -out " + sig.string()) == 0;
}

}  // namespace drover::test
