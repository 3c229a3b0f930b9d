// `tls: auto` material and the TLS listener, checked with curl --cacert and openssl.
#include <gtest/gtest.h>

#include "http/static_files.hpp"
#include "http/tls.hpp"
#include "tests/http/test_support.hpp"

namespace drover::http {
namespace {

using namespace drover::http::testing;
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  auto r = run("cat '" + p.string() + "'");
  return r.out;
}

TEST(TlsAutoTest, CreatesOnceThenReuses) {
  TempDir dir;
  auto first = ensureAutoTls(dir.path(), {"192.0.2.1", "127.0.0.1"});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->created_ca);
  EXPECT_TRUE(first->issued_cert);
  ASSERT_EQ(first->ca_fingerprint.size(), 7u + 64u);
  EXPECT_EQ(first->ca_fingerprint.rfind("sha256:", 0), 0u);
  for (const auto& key : {first->ca_key, first->key}) {
    EXPECT_EQ(fs::status(key).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  }

  // The fingerprint is what openssl computes for the CA certificate.
  auto fp = run("openssl x509 -noout -fingerprint -sha256 -in '" + first->ca_cert.string() + "'");
  std::string hex;
  for (char c : fp.out.substr(fp.out.find('=') + 1))
    if (std::isxdigit(static_cast<unsigned char>(c))) hex.push_back(static_cast<char>(std::tolower(c)));
  EXPECT_EQ("sha256:" + hex, first->ca_fingerprint);

  // ECDSA P-256, SANs, and the chain verifies.
  auto text = run("openssl x509 -noout -text -in '" + first->cert.string() + "'");
  EXPECT_NE(text.out.find("IP Address:192.0.2.1, IP Address:127.0.0.1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("prime256v1"), std::string::npos);
  EXPECT_NE(text.out.find("TLS Web Server Authentication"), std::string::npos);
  auto verify = run("openssl verify -CAfile '" + first->ca_cert.string() + "' '" + first->cert.string() + "'");
  EXPECT_EQ(verify.status, 0) << verify.out;

  std::string server_pem = slurp(first->cert);
  auto second = ensureAutoTls(dir.path(), {"192.0.2.1", "127.0.0.1"});
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created_ca);
  EXPECT_FALSE(second->issued_cert);
  EXPECT_EQ(second->ca_fingerprint, first->ca_fingerprint);
  EXPECT_EQ(slurp(second->cert), server_pem);

  // A new advertise address: new server certificate, same CA (agents' pins still hold).
  auto moved = ensureAutoTls(dir.path(), {"198.51.100.1", "127.0.0.1"});
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(moved->created_ca);
  EXPECT_TRUE(moved->issued_cert);
  EXPECT_EQ(moved->ca_fingerprint, first->ca_fingerprint);
  EXPECT_EQ(*certificateFingerprint(moved->ca_cert), first->ca_fingerprint);
}

TEST(TlsServerTest, CurlWithCacert) {
  TempDir dir;
  auto files = ensureAutoTls(dir.path() / "state", {"127.0.0.1"});
  ASSERT_TRUE(files.ok());
  auto ctx = makeServerTlsContext(files->cert, files->key);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;

  fs::create_directories(dir.path() / "www");
  std::string blob;
  for (int i = 0; i < 300000; ++i) blob += static_cast<char>('a' + i % 26);
  writeFile(dir.path() / "www" / "blob.bin", blob);
  Router router;
  router.add(Verb::get, "/v1/hello", [](const Request& r) {
    return Response::json(Status::ok, std::string("{\"tls\":") + (r.tls ? "true" : "false") + "}");
  });
  auto root = StaticRoot::open(dir.path() / "www");
  router.addPrefix(Verb::get, "/files", root->handler());
  ServerOptions opts;
  opts.name = "api";
  opts.tls = *ctx;
  TestServer srv(std::move(router), opts);
  std::string base = "https://127.0.0.1:" + std::to_string(srv.port());

  auto ok = run(curl() + "--cacert '" + files->ca_cert.string() + "' " + base + "/v1/hello");
  EXPECT_EQ(ok.out, "{\"tls\":true}");
  // Keep-alive over TLS: two URLs, one connection.
  auto two = run(curl() + "--cacert '" + files->ca_cert.string() + "' -o /dev/null -o /dev/null -w '%{num_connects} ' " +
                 base + "/v1/hello " + base + "/v1/hello");
  EXPECT_EQ(two.out, "1 0 ");
  // File bodies over TLS (buffered copy), whole and ranged.
  auto file = run(curl() + "--cacert '" + files->ca_cert.string() + "' " + base + "/files/blob.bin | sha256sum");
  auto expected = run("sha256sum < '" + (dir.path() / "www" / "blob.bin").string() + "'");
  EXPECT_EQ(file.out, expected.out);
  auto range = run(curl() + "--cacert '" + files->ca_cert.string() + "' -r 100-109 " + base + "/files/blob.bin");
  EXPECT_EQ(range.out, blob.substr(100, 10));
  // Without the CA, curl refuses the certificate (exit 60); plain HTTP to the TLS port fails.
  auto untrusted = run(curl() + "-o /dev/null " + base + "/v1/hello 2>/dev/null; echo $?");
  EXPECT_EQ(untrusted.out, "60\n");
  auto plain = run(curl() + "-o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(srv.port()) +
                   "/v1/hello 2>/dev/null");
  EXPECT_NE(plain.out, "200");
  EXPECT_TRUE(eventually(
      [&] { return srv.registry().valueForTest("http_drops_total", "listener=\"api\",reason=\"tls_handshake\"") >= 1; }));
}

TEST(TlsServerTest, OnlyTls12And13WithForwardSecretAeadSuites) {
  TempDir dir;
  auto files = ensureAutoTls(dir.path() / "state", {"127.0.0.1"});
  ASSERT_TRUE(files.ok());
  auto ctx = makeServerTlsContext(files->cert, files->key);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  Router router;
  router.add(Verb::get, "/v1/hello", [](const Request&) { return Response::json(Status::ok, "{}"); });
  ServerOptions opts;
  opts.name = "api";
  opts.tls = *ctx;
  TestServer srv(std::move(router), opts);
  // The client is allowed everything (security level 0), so a refusal is the server's.
  const auto client = [&](const std::string& args) {
    return run("openssl s_client -connect 127.0.0.1:" + std::to_string(srv.port()) + " " + args +
               " -CAfile '" + files->ca_cert.string() + "' </dev/null 2>&1; echo rc=$?");
  };
  for (const std::string proto : {"-tls1_2", "-tls1_3"}) {
    auto r = client(proto);
    EXPECT_NE(r.out.find("Verify return code: 0 (ok)"), std::string::npos) << proto << ":\n" << r.out;
    EXPECT_NE(r.out.find("rc=0"), std::string::npos) << proto << ":\n" << r.out;
  }
  for (const std::string refused :
       {"-tls1 -cipher DEFAULT:@SECLEVEL=0", "-tls1_1 -cipher DEFAULT:@SECLEVEL=0",
        "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0", "-tls1_2 -cipher AES128-GCM-SHA256:@SECLEVEL=0",
        "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0"}) {
    auto r = client(refused);
    EXPECT_EQ(r.out.find("rc=0"), std::string::npos) << refused << " was accepted:\n" << r.out;
    // The server answered with an alert: the client did offer what is refused.
    EXPECT_NE(r.out.find("alert"), std::string::npos) << refused << ":\n" << r.out;
  }
}

}  // namespace
}  // namespace drover::http
