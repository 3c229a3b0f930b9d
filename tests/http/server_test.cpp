// The HTTP server on loopback against a raw socket client and curl.
#include <fstream>
#include <future>

#include <gtest/gtest.h>

#include "http/metrics_routes.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"
#include "tests/http/test_support.hpp"

namespace drover::http {
namespace {

using namespace drover::http::testing;
using namespace std::chrono_literals;

std::string numbered(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) s += std::to_string(i) + ",";
  s.resize(n);
  return s;
}

// A string body larger than any socket buffer: what the socket does not take at once is
// sent when it has room.
constexpr std::size_t kBigText = 16 * 1024 * 1024;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content_ = numbered(1000);
    writeFile(dir_.path() / "file.txt", content_);
  }
  Router makeRouter() {
    Router router;
    router.add(Verb::get, "/hello", [](const Request& r) {
      return Response::text(
          Status::ok, "hello " + r.queryOr("name", "nobody") + " from " + r.client.to_string());
    });
    router.add(Verb::get, "/big",
               [](const Request&) { return Response::text(Status::ok, numbered(kBigText)); });
    router.add(Verb::post, "/echo",
               [](const Request& r) { return Response::text(Status::ok, r.body()); });
    auto root = StaticRoot::open(dir_.path());
    EXPECT_TRUE(root.ok());
    router.addPrefix(Verb::get, "/files", root->handler());
    addMetricsRoutes(router, registry_);
    return router;
  }

  TempDir dir_;
  std::string content_;
  metrics::Registry registry_;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestServer srv(makeRouter());
  RawClient c(srv.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(
      c.send("GET /hello?name=a%20b HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /files/file.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string first = c.readUntil(content_.substr(content_.size() - 20), 1);
  EXPECT_NE(first.find("hello a b from 127.0.0.1"), std::string::npos);
  EXPECT_EQ(srv.server().connectionCount(), 1u);
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string last = c.readUntilClose();
  EXPECT_TRUE(c.closed());
  EXPECT_NE(last.find("hello nobody"), std::string::npos);
  EXPECT_NE(last.find("Connection: close"), std::string::npos);
  EXPECT_EQ(srv.registry().valueForTest("http_requests_total", "listener=\"http\",code=\"200\""),
            3);

  // curl reuses the connection for a second URL: one connect in total.
  auto r = run(curl() + "-o /dev/null -o /dev/null -w '%{num_connects} ' " + srv.url("/hello") +
               " " + srv.url("/files/file.txt"));
  EXPECT_EQ(r.out, "1 0 ");
}

TEST_F(ServerTest, HeadHasLengthButNoBody) {
  TestServer srv(makeRouter());
  RawClient c(srv.port());
  ASSERT_TRUE(
      c.send("HEAD /files/file.txt HTTP/1.1\r\nHost: x\r\n\r\n"
             "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string all = c.readUntilClose();
  EXPECT_NE(all.find("Content-Length: 1000\r\n"), std::string::npos);
  EXPECT_NE(all.find("Content-Length: 27\r\n"), std::string::npos)
      << all;  // "hello nobody from 127.0.0.1"
  EXPECT_EQ(all.find("0,1,2"), std::string::npos);
  EXPECT_EQ(all.find("hello"), std::string::npos);
  auto r = run(curl() + "-I " + srv.url("/files/file.txt"));
  EXPECT_NE(r.out.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(r.out.find("Accept-Ranges: bytes"), std::string::npos);
}

TEST_F(ServerTest, RangeRequests) {
  TestServer srv(makeRouter());
  std::string url = srv.url("/files/file.txt");
  auto first = run(curl() + "-r 0-9 -w ' %{http_code}' " + url);
  EXPECT_EQ(first.out, content_.substr(0, 10) + " 206");
  auto suffix = run(curl() + "-r -7 -w ' %{http_code}' " + url);
  EXPECT_EQ(suffix.out, content_.substr(993) + " 206");
  auto open = run(curl() + "-r 990- -w ' %{http_code}' " + url);
  EXPECT_EQ(open.out, content_.substr(990) + " 206");
  auto bad = run(curl() + "-o /dev/null -r 5000- -w '%{http_code}' " + url);
  EXPECT_EQ(bad.out, "416");
  auto multi = run(curl() + "-r 0-1,5-6 -w ' %{http_code}' " + url);
  EXPECT_EQ(multi.out, content_ + " 200");

  RawClient c(srv.port());
  ASSERT_TRUE(
      c.send("GET /files/file.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=5000-\r\nConnection: "
             "close\r\n\r\n"));
  std::string raw = c.readUntilClose();
  EXPECT_NE(raw.find("Content-Range: bytes */1000"), std::string::npos);
}

TEST_F(ServerTest, EtagAndLastModifiedGive304) {
  TestServer srv(makeRouter());
  std::string url = srv.url("/files/file.txt");
  auto head = run(curl() + "-I " + url);
  auto pos = head.out.find("ETag: ");
  ASSERT_NE(pos, std::string::npos);
  std::string etag = head.out.substr(pos + 6, head.out.find('\r', pos) - pos - 6);
  auto lm = head.out.find("Last-Modified: ");
  ASSERT_NE(lm, std::string::npos);
  std::string date = head.out.substr(lm + 15, head.out.find('\r', lm) - lm - 15);

  auto r = run(curl() + "-o /dev/null -w '%{http_code}' -H 'If-None-Match: " + etag + "' " + url);
  EXPECT_EQ(r.out, "304");
  r = run(curl() + "-o /dev/null -w '%{http_code}' -H 'If-None-Match: \"nope\"' " + url);
  EXPECT_EQ(r.out, "200");
  r = run(curl() + "-o /dev/null -w '%{http_code}' -H 'If-Modified-Since: " + date + "' " + url);
  EXPECT_EQ(r.out, "304");
}

TEST_F(ServerTest, OversizedHeadersAreRefused) {
  TestServer srv(makeRouter());
  RawClient c(srv.port());
  ASSERT_TRUE(
      c.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n"));
  std::string reply = c.readUntilClose();
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(reply.empty() || reply.find("HTTP/1.1 431") == 0) << reply.substr(0, 100);
  EXPECT_EQ(
      srv.registry().valueForTest("http_drops_total", "listener=\"http\",reason=\"header_limit\""),
      1);
}

TEST_F(ServerTest, OversizedBodyIs413) {
  ServerOptions opts;
  opts.body_limit = 1024;
  TestServer srv(makeRouter(), opts);
  RawClient c(srv.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n"));
  std::string reply = c.readUntilClose();
  EXPECT_EQ(reply.find("HTTP/1.1 413"), 0u) << reply;
  EXPECT_EQ(
      srv.registry().valueForTest("http_drops_total", "listener=\"http\",reason=\"body_limit\""),
      1);

  // A client that sends its whole oversized body at once still gets the 413: the server
  // drains for a moment before closing instead of resetting the connection.
  RawClient eager(srv.port());
  std::string body_300k(300 * 1024, 'z');
  ASSERT_TRUE(eager.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                         std::to_string(body_300k.size()) + "\r\n\r\n" + body_300k));
  EXPECT_EQ(eager.readUntilClose().find("HTTP/1.1 413"), 0u);

  // Within the limit it echoes; curl's Expect: 100-continue is answered.
  std::string body(1000, 'x');
  auto r = run(curl() + "-H 'Expect: 100-continue' --data-binary " + body + " " + srv.url("/echo"));
  EXPECT_EQ(r.out, body);
  // Chunked bodies over the limit are cut off too.
  auto big =
      run(curl() + "-o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary " +
          std::string(2000, 'y') + " " + srv.url("/echo"));
  EXPECT_EQ(big.out, "413");
}

TEST_F(ServerTest, SlowClientTimesOut) {
  ServerOptions opts;
  opts.read_timeout = 300ms;
  TestServer srv(makeRouter(), opts);
  RawClient c(srv.port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finishes the header
  c.readUntilClose();
  EXPECT_TRUE(c.closed());
  // Beast closes the socket on the timeout; the drop is counted right after.
  EXPECT_TRUE(eventually([&] {
    return srv.registry().valueForTest("http_drops_total",
                                       "listener=\"http\",reason=\"timeout\"") == 1;
  }));
}

TEST_F(ServerTest, ReaderThatStopsReadingTimesOut) {
  // A 64 MiB sparse file overfills any socket buffer, so sendfile has to wait for
  // writability; the client never reads, so the wait ends with the write timeout.
  {
    std::ofstream big(dir_.path() / "big.bin", std::ios::binary);
    big.seekp(64 * 1024 * 1024 - 1);
    big.put('x');
  }
  ServerOptions opts;
  opts.write_timeout = 300ms;
  TestServer srv(makeRouter(), opts);
  RawClient c(srv.port());
  ASSERT_TRUE(c.send("GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(eventually([&] {
    return srv.registry().valueForTest("http_drops_total",
                                       "listener=\"http\",reason=\"timeout\"") == 1;
  }));
  EXPECT_TRUE(eventually([&] { return srv.server().connectionCount() == 0; }));
  EXPECT_LT(srv.registry().valueForTest("http_bytes_sent_total", "listener=\"http\""),
            64 * 1024 * 1024);
}

TEST_F(ServerTest, LargeStringBodyArrivesWholeAndAStalledReaderTimesOut) {
  ServerOptions opts;
  opts.write_timeout = 300ms;
  TestServer srv(makeRouter(), opts);
  auto r = run(curl() + srv.url("/big"));
  EXPECT_EQ(r.out.size(), kBigText);
  EXPECT_TRUE(r.out == numbered(kBigText));
  RawClient c(srv.port());
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));  // and never reads
  EXPECT_TRUE(eventually([&] {
    return srv.registry().valueForTest("http_drops_total",
                                       "listener=\"http\",reason=\"timeout\"") == 1;
  }));
  EXPECT_TRUE(eventually([&] { return srv.server().connectionCount() == 0; }));
}

TEST_F(ServerTest, StatusLineAnswersTheRequestsVersion) {
  TestServer srv(makeRouter());
  RawClient c(srv.port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\n\r\n"));
  const std::string all = c.readUntilClose();
  EXPECT_EQ(all.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << all;
  EXPECT_NE(all.find("\r\nContent-Length: "), std::string::npos);
  EXPECT_NE(all.find("\r\n\r\nhello nobody"), std::string::npos);
  RawClient missing(srv.port());
  ASSERT_TRUE(missing.send("GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(missing.readUntilClose().rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
}

TEST_F(ServerTest, BulkThreadsSendFilesWhileRequestsAreAnswered) {
  // Large file bodies go out on the bulk io_context (small ones inline). A reader that stops
  // reading leaves its send waiting for room there; meanwhile other requests on the request threads
  // are answered, a small file and a 64 MiB one arrive whole, keep-alive continues after a file
  // body, and stop() ends the stalled send (shutdown reaches the bulk side's descriptor).
  {
    std::ofstream big(dir_.path() / "big.bin", std::ios::binary);
    big.seekp(64 * 1024 * 1024 - 1);
    big.put('x');
  }
  TestServer srv(makeRouter(), {}, /*with_bulk=*/true);
  RawClient stalled(srv.port());
  ASSERT_TRUE(stalled.send("GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
  stalled.readUntil("\r\n\r\n");
  EXPECT_TRUE(eventually([&] {
    return srv.registry().valueForTest("http_bytes_sent_total", "listener=\"http\"") > 0;
  }));

  RawClient c(srv.port());
  ASSERT_TRUE(c.send(
      "GET /files/file.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string both = c.readUntil("hello nobody");
  EXPECT_NE(both.find(content_), std::string::npos);
  auto r = run(curl() + "-o " + (dir_.path() / "got.bin").string() + " -w '%{size_download}' " +
               srv.url("/files/big.bin"));
  EXPECT_EQ(r.out, std::to_string(64 * 1024 * 1024));

  srv.server().stop(std::chrono::milliseconds(0));
  EXPECT_TRUE(srv.joinWithSafetyTimeout());
  EXPECT_EQ(srv.server().connectionCount(), 0u);
}

TEST_F(ServerTest, ClientGoneMidFileIsADropNotACrash) {
  // The client reads the start of a 64 MiB body and closes: the server's next sendfile
  // fails with EPIPE/ECONNRESET (no SIGPIPE), the drop is counted, and it serves on. Both
  // send paths: the request threads', and the bulk threads'.
  {
    std::ofstream big(dir_.path() / "big.bin", std::ios::binary);
    big.seekp(64 * 1024 * 1024 - 1);
    big.put('x');
  }
  for (bool bulk : {false, true}) {
    TestServer srv(makeRouter(), {}, bulk);
    {
      RawClient gone(srv.port());
      ASSERT_TRUE(gone.send("GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
      gone.readUntil("\r\n\r\n");
    }  // closed with unread data: the server sees a reset
    EXPECT_TRUE(eventually([&] {
      return srv.registry().valueForTest("http_drops_total",
                                         "listener=\"http\",reason=\"write_error\"") == 1;
    })) << "bulk="
        << bulk;
    auto r = run(curl() + srv.url("/hello"));
    EXPECT_EQ(r.out, "hello nobody from 127.0.0.1") << "bulk=" << bulk;
  }
}

TEST_F(ServerTest, MetricsAndHealth) {
  TestServer srv(makeRouter());
  run(curl() + "-o /dev/null " + srv.url("/hello"));
  auto r = run(curl() + srv.url("/healthz"));
  EXPECT_EQ(r.out, "ok\n");
  // /metrics renders the registry handed to addMetricsRoutes (here the fixture's own).
  registry_.counter("probe_total", "a probe").fetch_add(2);
  r = run(curl() + srv.url("/metrics"));
  EXPECT_NE(r.out.find("drover_probe_total 2"), std::string::npos) << r.out;
  EXPECT_NE(
      srv.registry().render().find("drover_http_requests_total{listener=\"http\",code=\"200\"}"),
      std::string::npos);
}

TEST_F(ServerTest, OneThreadServesInterleavedConnectionsWithoutStrands) {
  ServerOptions opts;
  opts.single_thread = true;
  TestServer srv(makeRouter(), opts, /*with_bulk=*/true);
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<RawClient>(srv.port()));
    ASSERT_TRUE(clients.back()->connected());
  }
  // Every connection has a request in flight at once, a file body among them, twice over.
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const std::string target = i % 2 ? "/files/file.txt" : "/hello?name=c" + std::to_string(i);
      ASSERT_TRUE(clients[i]->send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const std::string want =
          i % 2 ? content_.substr(content_.size() - 20) : "hello c" + std::to_string(i);
      EXPECT_NE(clients[i]->readUntil(want).find(want), std::string::npos) << "connection " << i;
    }
  }
  EXPECT_EQ(srv.registry().valueForTest("http_requests_total", "listener=\"http\",code=\"200\""),
            16);
  EXPECT_EQ(srv.server().connectionCount(), 8u);
  // A stop closes the idle keep-alive connections from the io thread.
  srv.server().stop(30s);
  for (auto& c : clients) {
    c->readUntilClose();
    EXPECT_TRUE(c->closed());
  }
  EXPECT_TRUE(srv.joinWithSafetyTimeout());
}

TEST_F(ServerTest, GracefulStopFinishesRequestsInFlight) {
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  Router router = makeRouter();
  router.add(Verb::get, "/slow", [&entered, released](const Request&) {
    entered.set_value();
    released.wait();
    return Response::text(Status::ok, "finished");
  });
  TestServer srv(std::move(router));
  RawClient idle(srv.port());
  ASSERT_TRUE(idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  idle.readUntil("127.0.0.1");
  RawClient busy(srv.port());
  ASSERT_TRUE(busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  entered.get_future().wait();

  srv.server().stop(30s);
  idle.readUntilClose();
  EXPECT_TRUE(idle.closed());  // the idle keep-alive connection is closed at once
  release.set_value();
  std::string reply = busy.readUntilClose();
  EXPECT_NE(reply.find("finished"), std::string::npos);
  EXPECT_NE(reply.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(srv.joinWithSafetyTimeout());
  RawClient late(srv.port());
  EXPECT_FALSE(late.connected());
}

}  // namespace
}  // namespace drover::http
