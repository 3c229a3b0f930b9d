// drover::curl without a network: the error mapping, retries, backoff, and a handle's
// failure reported as an Outcome rather than an exception or a crash.
#include "common/curl/easy.hpp"

#include <gtest/gtest.h>

namespace drover::curl {
namespace {

using std::chrono::milliseconds;

TEST(Curl, FailuresMapOntoTlsBadUrlAndNetwork) {
  EXPECT_EQ(transferError({CURLE_PEER_FAILED_VERIFICATION, 0, "bad cert"}, "GET x").code, "tls");
  EXPECT_EQ(transferError({CURLE_SSL_CONNECT_ERROR, 0, "handshake"}, "GET x").code, "tls");
  EXPECT_EQ(transferError({CURLE_URL_MALFORMAT, 0, "bad"}, "GET x").code, "bad_url");
  EXPECT_EQ(transferError({CURLE_UNSUPPORTED_PROTOCOL, 0, "ftp"}, "GET x").code, "bad_url");
  const Error e = transferError({CURLE_COULDNT_CONNECT, 0, "refused"}, "GET http://h/p");
  EXPECT_EQ(e.code, "network");
  EXPECT_EQ(e.message, "GET http://h/p: refused");
}

TEST(Curl, RetriesTransientFailuresOnly) {
  EXPECT_TRUE(isRetriable(CURLE_COULDNT_CONNECT, 0));
  EXPECT_TRUE(isRetriable(CURLE_OK, 503));
  EXPECT_TRUE(isRetriable(CURLE_OK, 429));
  EXPECT_FALSE(isRetriable(CURLE_OK, 404));
  EXPECT_FALSE(isRetriable(CURLE_PEER_FAILED_VERIFICATION, 0));
  EXPECT_FALSE(isRetriable(CURLE_URL_MALFORMAT, 0));
}

TEST(Curl, BackoffDoublesUpToTheCap) {
  EXPECT_EQ(backoffDelay(1, milliseconds(500), milliseconds(4000)), milliseconds(500));
  EXPECT_EQ(backoffDelay(3, milliseconds(500), milliseconds(4000)), milliseconds(2000));
  EXPECT_EQ(backoffDelay(9, milliseconds(500), milliseconds(4000)), milliseconds(4000));
}

TEST(Curl, OnlyHttpAndHttpsAreSpoken) {
  auto easy = Easy::create({});
  ASSERT_TRUE(easy.ok()) << easy.error().message;
  easy->setUrl("file:///etc/passwd");
  std::string body;
  easy->collectBody(&body, 1024);
  const Outcome o = easy->perform();
  EXPECT_FALSE(o.ok());
  EXPECT_FALSE(o.error.empty());
  EXPECT_EQ(transferError(o, "GET").code, "bad_url");
  EXPECT_TRUE(body.empty());
}

TEST(Curl, UnreachableServerIsANetworkOutcome) {
  Options opt;
  opt.connect_timeout_s = 2;
  auto easy = Easy::create(opt);
  ASSERT_TRUE(easy.ok());
  easy->setUrl("http://127.0.0.1:1/");  // nothing listens on port 1
  const Outcome o = easy->perform();
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(transferError(o, "GET").code, "network");
  EXPECT_TRUE(isRetriable(o.code, o.status));
}

}  // namespace
}  // namespace drover::curl
