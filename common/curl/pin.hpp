// Internal to drover::curl: trust one CA, named by the sha256 of its certificate.
#pragma once

#include <string>

#include <curl/curl.h>

namespace drover::curl {

// Replaces OpenSSL's chain verification on `curl` with the pin; `fingerprint` (lowercase hex)
// must outlive the transfers. Hostname checks stay with libcurl.
void pinCa(CURL* curl, const std::string* fingerprint);

}  // namespace drover::curl
